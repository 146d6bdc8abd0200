import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_SCRIPT_BYTES, ScriptFile, ScriptText } from '../reported-script/reported-script';

/** What makes the image (`bake.sh`, `files/`) and what tests it (`test.sh`). */
export interface RecipeParts {
  /**
   * Run as root on the source instance at first boot; exit 0 means the bake worked.
   *
   * @default - none: a recipe that only tests an image of an existing instance
   */
  readonly bake?: ScriptText;

  /** Run as root on the target, launched from the new AMI; exit 0 means the AMI passed. */
  readonly test: ScriptText;

  /**
   * Copied onto the source's root before `bake.sh`, modes kept.
   *
   * @default - no files
   */
  readonly files?: ScriptFile[];
}

/** Options of {@link Recipe.fromDirectory}. */
export interface RecipeOptions {
  /**
   * Whether `bake.sh` must be there: a recipe that bakes a source needs it,
   * one that only tests an image made from an existing instance does not.
   *
   * @default true
   */
  readonly requireBake?: boolean;

  /**
   * Where a relative `directory` starts.
   *
   * @default - the working directory
   */
  readonly baseDirectory?: string;
}

/**
 * A recipe: the content of the image and its test, as a platform engineer
 * writes them, in a folder:
 *
 * ```
 * my-recipe/
 *   bake.sh      run as root on the source at first boot (exit 0 = baked)
 *   files/       optional: a tree copied onto / before bake.sh (files/etc/app.conf -> /etc/app.conf)
 *   test.sh      run as root on an instance launched from the AMI (exit 0 = passed)
 * ```
 *
 * Its identity is split on purpose: {@link Recipe.bakeId} covers `bake.sh` and
 * `files/` (image content: a change makes a new source and a new AMI), and
 * {@link Recipe.testId} covers `test.sh` only (a change re-runs the test on a new
 * target against the same image).
 */
export class Recipe {
  /**
   * Reads a recipe folder. `bake.sh` may be left out only when the image is
   * made from an existing instance (`requireBake: false`).
   *
   * @throws an Error naming `recipe` and the path when the folder is not a valid recipe
   */
  public static fromDirectory(directory: string, options: RecipeOptions = {}): Recipe {
    const dir = path.resolve(options.baseDirectory ?? process.cwd(), directory);
    const fail = (what: string): never => {
      throw new Error(`recipe ${JSON.stringify(directory)} ${what}`);
    };
    if (!fs.existsSync(dir)) fail(`does not exist${dir === directory ? '' : ` (looked for ${dir})`}`);
    if (!fs.statSync(dir).isDirectory()) fail('is not a folder');

    const script = (name: string, required: boolean): ScriptText | undefined => {
      const file = path.join(dir, name);
      if (!fs.existsSync(file)) return required ? fail(`has no ${name}: a recipe needs test.sh, and bake.sh unless it only tests an image of an existing instance (sourceInstanceId)`) : undefined;
      if (!fs.lstatSync(file).isFile()) fail(`has a ${name} that is not a regular file`);
      return { content: fs.readFileSync(file, 'utf-8'), source: file };
    };
    const bake = script('bake.sh', options.requireBake ?? true);
    const test = script('test.sh', true)!;
    const filesDir = path.join(dir, 'files');
    const files = fs.existsSync(filesDir) ? readTree(filesDir, fail) : undefined;
    return new Recipe({ bake, test, files });
  }

  /**
   * An AMI test that fits any healthy Linux image, for an image made from an
   * existing instance (`recipes/smoke`, no bake): cloud-init's stages before
   * the test finished without errors, the boot is done and no systemd unit
   * failed, and the metadata service (IMDSv2) and DNS answer. Each problem is
   * a line of the log. TestedImage's default with `sourceInstanceId`.
   */
  public static smokeTest(): Recipe {
    return Recipe.fromDirectory(path.join(__dirname, '..', '..', 'recipes', 'smoke'), { requireBake: false });
  }

  /** The recipe of this project's demo: nginx serving a page (`recipes/nginx`). */
  public static nginxDemo(options: RecipeOptions = {}): Recipe {
    return Recipe.fromDirectory(path.join(__dirname, '..', '..', 'recipes', 'nginx'), options);
  }

  /** `bake.sh`, run as root on the source at first boot; undefined in a recipe that only tests. */
  public readonly bake?: ScriptText;
  /** `test.sh`, run as root on the target launched from the AMI. */
  public readonly test: ScriptText;
  /** The files of `files/`, sorted by their path on the instance. */
  public readonly files: ScriptFile[];

  /** 16 hex digits of a hash of `bake.sh` and every file of `files/` (path, mode and bytes). */
  public readonly bakeId: string;

  /** 16 hex digits of a hash of `test.sh`. */
  public readonly testId: string;

  constructor(parts: RecipeParts) {
    this.bake = parts.bake;
    this.test = parts.test;
    this.files = [...(parts.files ?? [])].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
    for (const s of [this.bake, this.test]) {
      if (!s) continue;
      const bytes = Buffer.byteLength(s.content);
      if (bytes > MAX_SCRIPT_BYTES) {
        throw new Error(`recipe script ${JSON.stringify(s.source)} is ${bytes} bytes, over ${MAX_SCRIPT_BYTES}: it travels in the instance's user data, which EC2 caps at 16 KB; put the bulk in files/ and call it from the script`);
      }
      if (s.content.includes('\0')) throw new Error(`recipe script ${JSON.stringify(s.source)} is not text (it holds a NUL byte)`);
    }
    const bake = createHash('sha256').update(`bake.sh\0${this.bake?.content ?? ''}\0`);
    for (const f of this.files) bake.update(`${f.target}\0${f.mode}\0`).update(fs.readFileSync(f.source)).update('\0');
    this.bakeId = bake.digest('hex').slice(0, 16);
    this.testId = createHash('sha256').update(this.test.content).digest('hex').slice(0, 16);
  }
}

/** Every regular file under `root`, with its path on the instance; anything else (a link, a socket) is refused. */
function readTree(root: string, fail: (what: string) => never): ScriptFile[] {
  const files: ScriptFile[] = [];
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      const stat = fs.lstatSync(file);
      const relative = path.relative(root, file).split(path.sep).join('/');
      if (stat.isDirectory()) {
        walk(file);
      } else if (stat.isFile()) {
        files.push({ target: `/${relative}`, source: file, mode: (stat.mode & 0o7777).toString(8).padStart(6, '0') });
      } else {
        fail(`has files/${relative}, which is not a regular file or folder (links, sockets and devices cannot be copied)`);
      }
    }
  };
  walk(root);
  return files;
}
