// Lint with type information, zero warnings, no import cycles and no import below a layer's floor (see STYLE.md).
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'test-results/**', 'playwright-report/**', '**/*.mjs', '**/*.js'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: ['./common/tsconfig.json', './client/tsconfig.json', './server/tsconfig.json', './e2e/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs'] })] },
    rules: {
      'import-x/no-cycle': 'error',
      // The layers' floors: common ← provisioning ← server, client ← common; e2e and bench may import anything.
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: import.meta.dirname,
          zones: [
            { target: './common', from: ['./client', './provisioning', './server', './e2e', './bench'], message: 'common/ imports only common/.' },
            { target: './provisioning', from: ['./client', './server', './e2e', './bench'], message: 'provisioning/ imports only provisioning/ and common/: take what the server has as a parameter.' },
            { target: './server', from: ['./client', './e2e', './bench'], message: 'server/ imports server/, provisioning/ and common/ only.' },
            { target: './client', from: ['./provisioning', './server', './e2e', './bench'], message: 'client/ imports only client/ and common/.' },
            // Terminals open shells on a workspace's environment; workspaces know nothing of terminals (workshops/lab-workspaces.ts wires the two).
            { target: './server/workspaces', from: './server/terminals', message: 'workspaces/ must not import terminals/ (the wiring is workshops/lab-workspaces.ts).' },
            // progress/ is the gating rule and the progress store; the checks feature (engine + its socket module) builds on it.
            { target: './server/progress', from: './server/checks', message: 'progress/ must not import checks/ (checks use progress, not the other way round).' },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      'no-console': 'error',
    },
  },
  {
    // CLI output, benchmarks and tests print to the terminal on purpose.
    files: ['server/cli/**', 'bench/**', 'e2e/**', '**/*.test.ts', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.test.ts', 'e2e/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/unbound-method': 'off' },
  },
);
