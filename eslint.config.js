// Lint rules: typescript-eslint's type-aware recommended set, plus the architecture's one hard
// rule: provider/ (decisions) never imports network code at runtime.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/require-await': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['provider/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/adapters/**'], message: 'provider/ holds decisions: reach the network through a port in provider/ports.ts.' },
            { group: ['@alicloud/*'], message: 'Cloud SDKs belong in adapters/alibabacloud.' },
            { group: ['@kubernetes/client-node'], allowTypeImports: true, message: 'provider/ may import only types from @kubernetes/client-node.' },
          ],
          paths: [
            { name: 'node:http', message: 'HTTP belongs in adapters/.' },
            { name: 'node:https', message: 'HTTP belongs in adapters/.' },
            { name: 'node:http2', message: 'HTTP belongs in adapters/.' },
            { name: 'node:net', message: 'Sockets belong in adapters/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
