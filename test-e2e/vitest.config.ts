import { defineProject } from 'vitest/config';

// No source-first resolution here: these tests drive the built packages (dist/), as users do.
export default defineProject({
  test: {
    name: 'e2e',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Containers are cheap but the machine is small: one file at a time keeps timings sane.
    fileParallelism: false,
  },
});
