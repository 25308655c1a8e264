import { defineProject } from 'vitest/config';

// The harness, statistics and report code only: measurements need root and take minutes, so
// they run through `pnpm bench`, never as tests.
export default defineProject({ test: { name: 'bench', include: ['test/**/*.test.mjs'] } });
