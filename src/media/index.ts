/** The media folder's public face: every ffmpeg/ffprobe use in posepipe goes through these. */
export { probeVideo, type VideoFacts } from './probe-video.ts';
export { countFrames, countPackets } from './count-frames.ts';
export { MAX_CHUNK_RATIO } from './plan-cuts.ts';
export { segmentVideo, SEGMENT_PRESET, type SegmentMethod, type SegmentOptions } from './segment-video.ts';
export { toolVersion } from './run-tools.ts';
export { extractFrameJpeg, type FrameRequest } from './extract-frame.ts';
