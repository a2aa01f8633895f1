/** The local stack as a programmatic API, for other code and tests. */
export { stackUp, stackDown, stackStatus } from './stack.ts';
export type { ServerStatus, StackStatus, StackUpResult, StackDownResult, StackOptions, UpAction, DownAction } from './stack.ts';
export type { ServerName } from './paths.ts';
export { stackPaths } from './paths.ts';
export { registerStackCommands } from './commands.ts';
