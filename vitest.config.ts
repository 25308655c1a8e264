import { defineConfig } from 'vitest/config';

// `pnpm vitest` at the root runs every project; CI runs each through turbo.
export default defineConfig({
  test: { projects: ['native', 'packages/*', 'test-e2e'] },
});
