//! Class names for a model file (`vidt export --classes`): a COCO annotations file's
//! categories, or a text file with one name per line.

use crate::official::default_class_names;

/// Class names from a COCO annotations file (`categories`, placed at their ids) or a text file
/// with one name per line; ids without a name are `class i`.
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
