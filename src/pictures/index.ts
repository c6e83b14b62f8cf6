/**
 * The status page's pictures of a finished job: thumbnails of a few frames with every person's
 * box and track id drawn over them, and a timeline of the frames each track covers, so people
 * can see that tracking worked without opening the JSON.
 */
export { buildPictures, type PictureFacts, picturePerson } from './build-pictures.ts';
export { cachePictures, loadPictures } from './load-pictures.ts';
export { cachedFrameTimes } from './frame-times.ts';
export { pickFlagged } from './pick-frames.ts';
export { MAX_PICKED, type PictureFrame, type PictureIndex, type PicturePerson, type Pictures, type TrackRuns } from './pictures.ts';
export { thumbnailFile } from './thumbnail-file.ts';
export { thumbStripHtml } from './thumb-strip-html.ts';
export { shownTracks, TrackRunsBuilder } from './track-runs.ts';
export { trackTimelineHtml } from './track-timeline-html.ts';
