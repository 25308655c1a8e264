import { defineProject } from 'vitest/config';
import { sourceFirst } from '../../vitest.shared.ts';

export default defineProject({ ...sourceFirst, test: { name: 'config' } });
