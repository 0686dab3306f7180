//! Instance masks of a training target (ViDT+): one bitmap per object on the image's canvas,
//! with the pixel boxes the official criterion crops them to.

/// The masks of one image's objects, in the order of its `labels`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstanceMasks {
    /// The canvas: the (augmented, unpadded) image size, or larger (a padded batch canvas).
    pub height: usize,
    pub width: usize,
    /// `n` bitmaps of `height * width` (0 or 1), row-major, one after another.
    pub data: Vec<u8>,
    /// `[x0, y0, x1, y1]` in canvas pixels per object (the official `xyxy_boxes`: the boxes
    /// before normalization), the crop of each mask's vector target.
    pub boxes_px: Vec<[f32; 4]>,
}

impl InstanceMasks {
    pub fn len(&self) -> usize {
        self.boxes_px.len()
    }

    pub fn is_empty(&self) -> bool {
        self.boxes_px.is_empty()
    }

    /// Object `i`'s bitmap.
    pub fn mask(&self, i: usize) -> &[u8] {
        let n = self.height * self.width;
        &self.data[i * n..(i + 1) * n]
    }
}
