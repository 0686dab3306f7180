//! COCO category names by id (1..90; the 91-way head has unused ids, named "N/A").

pub const COCO_NAMES: [&str; 91] = [
    "N/A",
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "N/A",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "N/A",
    "backpack",
    "umbrella",
    "N/A",
    "N/A",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "N/A",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "N/A",
    "dining table",
    "N/A",
    "N/A",
    "toilet",
    "N/A",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "N/A",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
];

/// The name of label `id` for a model with `num_classes` outputs.
pub fn label_name(id: usize, names: &[String]) -> String {
    names
        .get(id)
        .cloned()
        .unwrap_or_else(|| format!("class {id}"))
}

pub fn coco_names() -> Vec<String> {
    COCO_NAMES.iter().map(|s| s.to_string()).collect()
}

/// Class names of a checkpoint that does not store them: COCO's for 91 classes, else `class i`.
pub fn default_class_names(num_classes: usize) -> Vec<String> {
    if num_classes == COCO_NAMES.len() {
        coco_names()
    } else {
        (0..num_classes).map(|i| format!("class {i}")).collect()
    }
}

/// Class names from a COCO annotations file (`categories`, placed at their ids) or a text file
/// with one name per line; ids without a name are `class i`.
#[cfg(not(target_arch = "wasm32"))]
pub fn class_names_from_file(
    path: &std::path::Path,
    num_classes: usize,
) -> crate::error::Result<Vec<String>> {
    use crate::error::VidtError;
    let err = |reason: String| VidtError::Input {
        name: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| VidtError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut names = default_class_names(num_classes);
    if text.trim_start().starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
        let cats = v["categories"]
            .as_array()
            .ok_or_else(|| err("no `categories` list".into()))?;
        for (i, c) in cats.iter().enumerate() {
            let (Some(id), Some(name)) = (c["id"].as_u64(), c["name"].as_str()) else {
                return Err(err(format!(
                    "categories[{i}] has no integer `id` and `name`"
                )));
            };
            let slot = names.get_mut(id as usize).ok_or_else(|| {
                err(format!(
                    "categories[{i}] has id {id}, the model has {num_classes} classes"
                ))
            })?;
            *slot = name.to_string();
        }
    } else {
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() > num_classes {
            return Err(err(format!(
                "{} names for a model with {num_classes} classes",
                lines.len()
            )));
        }
        for (slot, l) in names.iter_mut().zip(lines) {
            *slot = l.trim().to_string();
        }
    }
    Ok(names)
}
