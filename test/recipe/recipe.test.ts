import * as fs from 'node:fs';
import * as path from 'node:path';
import { Recipe } from '../../lib/recipe/recipe';
import { MAX_SCRIPT_BYTES } from '../../lib/reported-script/reported-script';
import { recipeFolder } from '../helpers/recipe';


const BAKE = '#!/bin/bash\necho bake\n';
const TEST = '#!/bin/bash\necho test\n';

describe('GIVEN the nginx demo (recipes/nginx)', () => {
  const recipe = Recipe.nginxDemo();

  test('THEN it has a bake, a test and the page in files/, with its path on the instance and its mode', () => {
    expect(recipe.bake!.content).toContain('dnf install -y nginx');
    expect(recipe.test.content).toContain('systemctl is-active --quiet nginx');
    expect(recipe.files).toEqual([{ target: '/srv/ami-from-instance/index.html', source: expect.stringMatching(/recipes\/nginx\/files\/srv\/ami-from-instance\/index\.html$/), mode: '000644' }]);
    expect(recipe.bakeId).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('identity follows content', () => {
  const ids = (files: Record<string, string | ((f: string) => void)>) => {
    const r = Recipe.fromDirectory(recipeFolder(files));
    return { bake: r.bakeId, test: r.testId };
  };
  const base = ids({ 'bake.sh': BAKE, 'test.sh': TEST, 'files/etc/app.conf': 'a=1\n' });

  test('the same content gives the same ids, wherever the folder is', () => {
    expect(ids({ 'bake.sh': BAKE, 'test.sh': TEST, 'files/etc/app.conf': 'a=1\n' })).toEqual(base);
  });

  test.each([
    ['a byte of bake.sh', { 'bake.sh': `${BAKE}#\n`, 'test.sh': TEST, 'files/etc/app.conf': 'a=1\n' }],
    ['a byte of a file', { 'bake.sh': BAKE, 'test.sh': TEST, 'files/etc/app.conf': 'a=2\n' }],
    ['the path of a file', { 'bake.sh': BAKE, 'test.sh': TEST, 'files/etc/app.cfg': 'a=1\n' }],
    ['the mode of a file', { 'bake.sh': BAKE, 'test.sh': TEST, 'files/etc/app.conf': (f: string) => fs.writeFileSync(f, 'a=1\n', { mode: 0o755 }) }],
    ['a new file', { 'bake.sh': BAKE, 'test.sh': TEST, 'files/etc/app.conf': 'a=1\n', 'files/etc/other': '' }],
  ])('%s changes the bake id, not the test id', (_, files) => {
    const changed = ids(files);
    expect(changed.bake).not.toBe(base.bake);
    expect(changed.test).toBe(base.test);
  });

  test('test.sh changes the test id only', () => {
    const changed = ids({ 'bake.sh': BAKE, 'test.sh': `${TEST}true\n`, 'files/etc/app.conf': 'a=1\n' });
    expect(changed.test).not.toBe(base.test);
    expect(changed.bake).toBe(base.bake);
  });

  test('files/ modes are kept: an executable stays executable', () => {
    const r = Recipe.fromDirectory(recipeFolder({ 'bake.sh': BAKE, 'test.sh': TEST, 'files/usr/local/bin/tool': (f: string) => fs.writeFileSync(f, '#!/bin/sh\n', { mode: 0o750 }) }));
    expect(r.files[0]).toMatchObject({ target: '/usr/local/bin/tool', mode: '000750' });
  });
});

describe('bad recipes are refused, naming recipe and the path', () => {
  test.each([
    ['a folder that does not exist', () => 'does/not/exist', /^recipe "does\/not\/exist" does not exist \(looked for .*does\/not\/exist\)$/],
    ['a file, not a folder', () => path.join(recipeFolder({ 'x': '' }), 'x'), /^recipe ".*\/x" is not a folder$/],
    ['no test.sh', () => recipeFolder({ 'bake.sh': BAKE }), /^recipe ".*" has no test\.sh/],
    ['no bake.sh', () => recipeFolder({ 'test.sh': TEST }), /^recipe ".*" has no bake\.sh: .*sourceInstanceId/],
    ['a test.sh that is a folder', () => recipeFolder({ 'bake.sh': BAKE, 'test.sh/x': '' }), /^recipe ".*" has a test\.sh that is not a regular file$/],
    ['a link in files/', () => recipeFolder({ 'bake.sh': BAKE, 'test.sh': TEST, 'files/etc/link': (f: string) => fs.symlinkSync('/etc/passwd', f) }),
      /^recipe ".*" has files\/etc\/link, which is not a regular file or folder/],
    ['a bake.sh too large for the user data', () => recipeFolder({ 'bake.sh': `#!/bin/bash\n${'#'.repeat(MAX_SCRIPT_BYTES)}\n`, 'test.sh': TEST }),
      new RegExp(`^recipe script ".*bake\\.sh" is ${MAX_SCRIPT_BYTES + 13} bytes, over ${MAX_SCRIPT_BYTES}: .*16 KB`)],
  ])('%s', (_, dir, message) => {
    expect(() => Recipe.fromDirectory(dir())).toThrow(message);
  });

  test('without bake.sh, a recipe that only tests (sourceInstanceId) loads', () => {
    const r = Recipe.fromDirectory(recipeFolder({ 'test.sh': TEST }), { requireBake: false });
    expect(r.bake).toBeUndefined();
    expect(r.test.content).toBe(TEST);
  });

  test('a relative path starts at baseDirectory', () => {
    const dir = recipeFolder({ 'bake.sh': BAKE, 'test.sh': TEST });
    expect(Recipe.fromDirectory(path.basename(dir), { baseDirectory: path.dirname(dir) }).test.content).toBe(TEST);
  });
});
