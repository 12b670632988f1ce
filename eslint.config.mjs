// Lint gate of `npm test`: the layering of ARCHITECTURE.md and core/'s purity are enforced here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Forbids imports from the named top-level folders, through any number of `../`. */
function layer(folder, above, extraPatterns = [], ignores = []) {
  const names = above.join('|');
  return {
    files: [`${folder}/**/*.ts`],
    ignores,
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          ...extraPatterns,
          { regex: `^(\\./|(\\.\\./)+)(${names})(/|$)`, message: `${folder}/ must not import ${above.join(', ')} (layers: core, events, infra, functions/sim, app, cli).` },
        ],
      }],
    },
  };
}

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
  // Layers, bottom to top: core, events, infra, functions (and sim beside them), app (wiring),
  // cli and bench. A module imports only layers below its own, at any depth of relative path.
  layer('core', ['events', 'infra', 'functions', 'sim', 'app', 'cli', 'bench', 'test'], [
    { group: ['node:*', 'fs', 'http', 'net', 'child_process'], message: 'core/ is pure: no Node I/O.' },
    { group: ['kafkajs', '@kubernetes/client-node', 'prom-client', 'express', 'cloudevents', 'highs'], message: 'core/ is pure: adapters and solvers live in infra/ (core/ports declares what it needs).' },
  ]),
  layer('events', ['infra', 'functions', 'sim', 'app', 'cli', 'bench', 'test']),
  layer('infra', ['functions', 'sim', 'app', 'cli', 'bench', 'test']),
  layer('functions', ['sim', 'app', 'cli', 'bench', 'test']),
  // sim/ is pure like core/ (virtual time, injected randomness); file I/O only in sim/io/.
  layer('sim', ['functions', 'app', 'cli', 'bench', 'test'], [
    { group: ['node:*', 'fs', 'http', 'net', 'child_process'], message: 'sim/ is pure: file I/O lives in sim/io/ and cli/simulate.ts.' },
    { group: ['kafkajs', '@kubernetes/client-node', 'prom-client', 'express'], message: 'sim/ is pure: no adapters.' },
  ], ['sim/io/**']),
  layer('sim/io', ['functions', 'app', 'cli', 'bench', 'test']),
  layer('app', ['cli', 'bench', 'test']),
  layer('cli', ['bench', 'test']),
  layer('bench', ['test']),
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  { files: ['eslint.config.mjs'], ...tseslint.configs.disableTypeChecked },
);
