import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // dist/ holds the compiled tests too (tsconfig includes test/), and the bench's private builds are compiled copies.
    exclude: [...configDefaults.exclude, 'dist/**', 'test/bench/.build/**'],
    // Builds dist/ when stale, so worker threads run compiled JavaScript.
    globalSetup: ['test/support/global-setup.ts'],
  },
});
