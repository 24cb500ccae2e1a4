import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers, each importing only those below it: gen ← model (the contract) ← config, common,
 * kube (shared services) ← the programs agent, aggregator, cli (never each other) ← cmd (the
 * mains, one small file per binary, which wire programs together).
 */
const LAYERS = ['model', 'config', 'common', 'kube', 'agent', 'aggregator', 'cli', 'cmd'];
const MAY_IMPORT = {
  model: [],
  config: ['model'],
  common: ['model', 'config'],
  kube: ['model', 'config', 'common'],
  agent: ['model', 'config', 'common', 'kube'],
  aggregator: ['model', 'config', 'common', 'kube'],
  cli: ['model', 'config', 'common', 'kube'],
  cmd: ['model', 'config', 'common', 'kube', 'agent', 'aggregator', 'cli'],
};

const layerRules = LAYERS.map((layer) => {
  const forbidden = LAYERS.filter((other) => other !== layer && !MAY_IMPORT[layer].includes(other));
  return {
    files: [`${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: forbidden.map((other) => ({
          group: [`**/${other}/*`, `**/${other}/**`],
          message: `${layer}/ may import only ${['gen', ...MAY_IMPORT[layer]].join(', ')} (eslint.config.js, the layers)`,
        })),
      }],
    },
  };
});

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'gen/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  ...layerRules,
  {
    // netstat's columns are runs of spaces; tests spell them out literally.
    files: ['test/**/*.ts'],
    rules: { 'no-regex-spaces': 'off' },
  },
);
