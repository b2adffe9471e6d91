import { createLogger } from '../observability/logger.js';

/** The logger of a one-off tool run: to stderr (stdout carries the tool's output), silent unless asked. */
export const toolLogger = (level = 'silent') => createLogger(level, process.stderr);
