// Lint gate of `npm test`. core/ is the pure domain: no I/O, no adapters (ARCHITECTURE.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.ssis/', '.cache/', 'bin/', 'scripts/', '.scratch/', 'sim-reports/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'describe', property: 'only' }, { object: 'it', property: 'only' }],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'http', 'net', 'child_process'], message: 'core/ is pure: no Node I/O.' },
          { group: ['kafkajs', '@kubernetes/client-node', 'prom-client', 'express', 'cloudevents'], message: 'core/ is pure: adapters live in infra/ and functions/.' },
          { group: ['../infra/*', '../functions/*', '../../infra/*', '../../functions/*'], message: 'core/ must not depend on adapters.' },
        ],
      }],
    },
  },
  {
    // sim/ is pure like core/ (virtual time, injected randomness); file I/O only in sim/io/.
    files: ['sim/**/*.ts'],
    ignores: ['sim/io/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'http', 'net', 'child_process'], message: 'sim/ is pure: file I/O lives in sim/io/ and cli/simulate.ts.' },
          { group: ['kafkajs', '@kubernetes/client-node', 'prom-client', 'express'], message: 'sim/ is pure: no adapters.' },
        ],
      }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  { files: ['eslint.config.mjs'], ...tseslint.configs.disableTypeChecked },
);
