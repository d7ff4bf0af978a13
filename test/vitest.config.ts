import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

// Kept in test/ (the top-level layout is fixed); `npm test` names it. The root stays the project.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    // dist/ holds the compiled tests too (tsconfig includes test/), and the bench's private builds are compiled copies.
    exclude: [...configDefaults.exclude, 'dist/**', 'test/bench/.build/**'],
    // Builds dist/ when stale, so worker threads run compiled JavaScript.
    globalSetup: ['test/support/global-setup.ts'],
  },
});
