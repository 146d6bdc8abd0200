// ESLint in the style of aws-cdk's own lint rules: single quotes, trailing
// commas on multiline, ordered imports, no floating promises, no console.
const importPlugin = require('eslint-plugin-import');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['node_modules/', 'cdk.out*/', 'dist/', 'dist-packages/', '.stryker-tmp/', 'reports/',
    // A project of its own, built against the packed library (scripts/check-package.sh type-checks it there).
    'examples/', '**/*.js', '**/*.d.ts', 'bench/baseline/cdk.out*/', 'test/**/__snapshots__/'] },
  ...tseslint.configs.recommended,
  importPlugin.flatConfigs.recommended,
  importPlugin.flatConfigs.typescript,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: __dirname },
    },
    settings: { 'import/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      quotes: ['error', 'single', { avoidEscape: true }],
      'comma-dangle': ['error', 'always-multiline'],
      semi: ['error', 'always'],
      'no-console': 'error',
      eqeqeq: ['error', 'smart'],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'import/order': ['error', {
        groups: ['builtin', 'external', 'parent', 'sibling', 'index'],
        alphabetize: { order: 'asc', caseInsensitive: true },
        'newlines-between': 'never',
      }],
      'import/no-duplicates': 'error',
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // eslint-plugin-import's node resolver reads no package "exports" map, and @stryker-mutator/api exports only subpaths.
    files: ['stryker/**/*.mjs'],
    rules: { 'import/no-unresolved': ['error', { ignore: ['^@stryker-mutator/api/'] }] },
  },
);
