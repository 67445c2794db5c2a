// Lint rules of the UI's sources, tests and build script.
import js from '@eslint/js';
import globals from 'globals';

export default [
    { ignores: ['dist/', 'node_modules/'] },
    js.configs.recommended,
    {
        languageOptions: {
            ecmaVersion: 2022,
            sourceType: 'module',
            globals: { ...globals.browser },
        },
        rules: {
            'no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
            eqeqeq: 'error',
            'prefer-const': 'error',
            'no-var': 'error',
        },
    },
    {
        files: ['build.js', 'build-api-docs.js', 'eslint.config.js', 'test/**/*.js'],
        languageOptions: { globals: { ...globals.node } },
    },
];
