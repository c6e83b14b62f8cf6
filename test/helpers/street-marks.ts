/** People marked by eye in frames of the street video (shared/fixtures/street-people.avi, 1280×720). */

/** The people in the foreground of frame 100 (x1, y1, x2, y2 in pixels). */
export const STREET_FRAME_100 = {
  'at the left edge': [0, 120, 62, 400],
  'in black, a bag on her arm': [128, 168, 230, 438],
  'in black, a red bag': [310, 172, 422, 388],
  'grey, with a backpack': [475, 135, 600, 390],
  'the couple in the middle': [632, 118, 802, 505],
  'in navy, on the right': [1078, 142, 1135, 282],
} as const;
