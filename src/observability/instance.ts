import os from 'node:os';

/** Identifies this process in page records ("which instance rendered it") and in logs. */
export const INSTANCE_ID = `${os.hostname()}:${process.pid}`;
