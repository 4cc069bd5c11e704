// ESLint (flat config) with typescript-eslint's recommended rules: the linter most
// TypeScript projects run, and the one editors pick up without set-up. Formatting is
// Prettier's job (.prettierrc.json); nothing here is about layout.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Every file runs on Node, but the gateway's web page, which runs in a browser.
  { languageOptions: { globals: globals.node } },
  { files: ['services/gateway/web/**/*.js'], languageOptions: { globals: globals.browser } },
  {
    rules: {
      // `_name` marks an argument or binding kept for its position or to leave a value out on purpose.
      // A binding declared before the closures that read it and assigned once after them stays `let`: moving it down to be `const` would hide it from a reader of those closures.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
);
