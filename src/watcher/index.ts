/** The inbox watcher: turns files dropped into the inbox into ready, hashed files for the pipeline. */
export { createInboxWatcher } from './watcher.ts';
export type { InboxWatcher, InboxWatcherOptions, ReadyFile } from './options.ts';
export { shouldPoll, decidePolling, parseMountTable, findMount, isWslDrivePath, POLLED_FS_TYPES } from './mounts.ts';
export type { MountEntry, PollDecision } from './mounts.ts';
export { DONE_FOLDER, VIDEO_EXTENSIONS, isVideoName, isHiddenOrTemporaryName } from './video-files.ts';
export { createAfterDone } from './after-done.ts';
export type { AfterDoneMode, AfterDoneOptions, InboxAfterDone } from './after-done.ts';
