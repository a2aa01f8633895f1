/** What a sink process sends its supervisor (node:cluster IPC) before exiting after a `drain` command. */
export const DRAINED_MESSAGE = 'floodgate:sink-drained';
