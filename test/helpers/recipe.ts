import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * A recipe folder in a new temporary folder, made of `files`: a path in the
 * folder and its content, or a function that makes the entry (a link, a mode).
 */
export function recipeFolder(files: Record<string, string | ((file: string) => void)>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afi-recipe-'));
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (typeof content === 'string') fs.writeFileSync(file, content);
    else content(file);
  }
  return dir;
}
