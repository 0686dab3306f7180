//! What a caller may set for a detection, checked in one place for the CLI (`vidt detect`,
//! `vidt eval --data`), the browser's `detect` options and a model file's recommendations, so
//! each refuses the same values with the same message.

use serde::Deserialize;

use crate::defaults::{self, check_nms_iou, check_threshold};
use crate::error::{Result, VidtError};

/// Shorter side a caller may ask for (the model sees multiples of 16 at least 32).
pub const INPUT_SIZES: std::ops::RangeInclusive<usize> = 32..=2048;
/// Longer side at most a caller may ask for (from the shorter side up).
pub const MAX_SIZE_LIMIT: usize = 4096;

/// Detection options, as applied.
#[derive(Clone, Debug)]
pub struct DetectOptions {
    /// Keep detections with a score at least this.
    pub threshold: f32,
    /// At most this many detections per image (the reference keeps 100).
    pub top_k: usize,
    /// Decoder layers to run (all when `None`).
    pub dec_layers: Option<usize>,
    /// Class-wise NMS at this IoU (`None`: none, as the official post-processing).
    pub nms_iou: Option<f32>,
    /// Only these label ids (sorted), chosen before the top-k as MediaPipe's category
    /// allowlist; `None`: every class.
    pub labels: Option<Vec<usize>>,
}

impl Default for DetectOptions {
    fn default() -> Self {
        Self {
            threshold: defaults::SCORE_THRESHOLD,
            top_k: defaults::TOP_K,
            dec_layers: None,
            nms_iou: None,
            labels: None,
        }
    }
}

/// What a caller set for one detection; `None`: the model's default. Numbers are `f64` because
/// JS numbers cross as such and a fraction must be refused, not truncated. The browser's
/// `detect` options deserialize straight into it (camelCase: `topK`, `nmsIou`, ...).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectRequest {
    /// Keep detections scoring at least this, in [0, 1].
    pub threshold: Option<f64>,
    /// At most this many detections per image, a positive integer.
    pub top_k: Option<f64>,
    /// Run only the first K decoder layers, an integer in 1..=(the model's).
    pub decoder_layers: Option<f64>,
    /// Class-wise NMS at this IoU in (0, 1]; `Some(None)` (JS `null`): none, even where the
    /// model recommends it.
    #[serde(default, deserialize_with = "present")]
    pub nms_iou: Option<Option<f64>>,
    /// Shorter side to resize to, an integer in [`INPUT_SIZES`].
    pub input_size: Option<f64>,
    /// Longer side at most, an integer from the shorter side to [`MAX_SIZE_LIMIT`].
    pub max_size: Option<f64>,
    /// Keep only these classes, by name or label id.
    pub labels: Option<Vec<Label>>,
}

/// A class by its name (`"person"`) or label id (`1`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Label {
    Id(f64),
    Name(String),
}

impl std::str::FromStr for Label {
    type Err = std::convert::Infallible;

    /// A number is an id, anything else a name (the CLI's `--labels person,3`).
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(s.parse::<f64>()
            .map_or_else(|_| Label::Name(s.to_string()), Label::Id))
    }
}

/// The request applied: detection options and the (shorter side, longer side at most) to
/// resize to.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub options: DetectOptions,
    pub sizes: (usize, usize),
}

/// Tells an explicit `null` (`Some(None)`) from an absent key (`None`, via `default`).
fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

fn whole(x: f64) -> bool {
    x.fract() == 0.0
}

fn bad(reason: String) -> VidtError {
    VidtError::Input {
        name: "bad detect options".into(),
        reason,
    }
}

impl DetectRequest {
    /// The request over `defaults` (the model's), for a model of `decoder_layers` decoder
    /// layers, default shorter side `input_size` and class names `classes`; a value out of
    /// range is an error naming it and its range.
    pub fn resolve(
        &self,
        defaults: DetectOptions,
        decoder_layers: usize,
        input_size: usize,
        classes: &[String],
    ) -> Result<Resolved> {
        let threshold = self.threshold.unwrap_or(defaults.threshold as f64);
        check_threshold(threshold).map_err(bad)?;
        let top_k = self.top_k.unwrap_or(defaults.top_k as f64);
        if !(top_k >= 1.0 && whole(top_k)) {
            return Err(bad(format!("top-k {top_k} is not a positive integer")));
        }
        let dec_layers = match self.decoder_layers {
            None => None,
            Some(k) if k >= 1.0 && whole(k) && k <= decoder_layers as f64 => Some(k as usize),
            Some(k) => {
                return Err(bad(format!(
                    "decoder layers {k} is not an integer in 1..={decoder_layers}"
                )));
            }
        };
        let nms_iou = match self.nms_iou {
            None => defaults.nms_iou,
            Some(None) => None,
            Some(Some(t)) => {
                check_nms_iou(t).map_err(bad)?;
                Some(t as f32)
            }
        };
        Ok(Resolved {
            options: DetectOptions {
                threshold: threshold as f32,
                top_k: top_k as usize,
                dec_layers,
                nms_iou,
                labels: match &self.labels {
                    None => defaults.labels,
                    Some(l) => Some(label_ids(l, classes)?),
                },
            },
            sizes: self.sizes(input_size)?,
        })
    }

    /// (shorter side, longer side at most) to resize to, for a model whose default shorter
    /// side is `input_size` (the longer side's default: the official `size * 1333 // 800`).
    pub fn sizes(&self, input_size: usize) -> Result<(usize, usize)> {
        let size = self.input_size.unwrap_or(input_size as f64);
        let (lo, hi) = (*INPUT_SIZES.start(), *INPUT_SIZES.end());
        if !(size >= lo as f64 && size <= hi as f64 && whole(size)) {
            return Err(bad(format!(
                "input size {size} is not an integer in {lo}..={hi}"
            )));
        }
        let max_size = match self.max_size {
            None => None,
            Some(m) if m >= size && m <= MAX_SIZE_LIMIT as f64 && whole(m) => Some(m as usize),
            Some(m) => {
                return Err(bad(format!(
                    "max size {m} is not an integer in input size ({size})..={MAX_SIZE_LIMIT}"
                )));
            }
        };
        let size = size as usize;
        Ok((size, defaults::max_size_for(size, max_size)))
    }
}

/// Label ids of `labels` among `classes` (sorted, without repeats); an unknown name or an id
/// out of range is an error naming it.
fn label_ids(labels: &[Label], classes: &[String]) -> Result<Vec<usize>> {
    let mut ids = Vec::with_capacity(labels.len());
    for l in labels {
        ids.push(match l {
            Label::Id(i) if *i >= 0.0 && whole(*i) && (*i as usize) < classes.len() => *i as usize,
            Label::Id(i) => {
                return Err(bad(format!(
                    "label id {i} is not an integer in 0..{}",
                    classes.len()
                )));
            }
            Label::Name(n) => classes.iter().position(|c| c == n).ok_or_else(|| {
                bad(format!(
                    "no class is named `{n}` (the model's classes: {})",
                    classes
                        .iter()
                        .filter(|c| !c.starts_with("N/A"))
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
        });
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: DetectRequest) -> String {
        r.resolve(DetectOptions::default(), 6, 800, &[])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn each_value_out_of_range_is_named_with_its_range() {
        let r = DetectRequest::default;
        let cases = [
            (
                DetectRequest {
                    threshold: Some(2.0),
                    ..r()
                },
                "bad detect options: threshold 2 is not in [0, 1]",
            ),
            (
                DetectRequest {
                    top_k: Some(0.5),
                    ..r()
                },
                "bad detect options: top-k 0.5 is not a positive integer",
            ),
            (
                DetectRequest {
                    decoder_layers: Some(7.0),
                    ..r()
                },
                "bad detect options: decoder layers 7 is not an integer in 1..=6",
            ),
            (
                DetectRequest {
                    nms_iou: Some(Some(0.0)),
                    ..r()
                },
                "bad detect options: NMS IoU 0 is not in (0, 1]",
            ),
            (
                DetectRequest {
                    input_size: Some(0.0),
                    ..r()
                },
                "bad detect options: input size 0 is not an integer in 32..=2048",
            ),
            (
                DetectRequest {
                    input_size: Some(320.0),
                    max_size: Some(100.0),
                    ..r()
                },
                "bad detect options: max size 100 is not an integer in input size (320)..=4096",
            ),
        ];
        for (req, want) in cases {
            assert_eq!(err(req), want);
        }
    }

    #[test]
    fn unset_values_are_the_models_and_set_ones_apply() {
        let defaults = DetectOptions {
            threshold: 0.3,
            nms_iou: Some(0.7),
            ..DetectOptions::default()
        };
        let classes = ["N/A".to_string(), "person".into(), "bicycle".into()];
        let got = DetectRequest::default()
            .resolve(defaults.clone(), 6, 160, &classes)
            .unwrap();
        assert_eq!(got.options.threshold, 0.3);
        assert_eq!(got.options.nms_iou, Some(0.7));
        assert_eq!(got.options.dec_layers, None);
        assert_eq!(got.sizes, (160, 266));
        let req = DetectRequest {
            threshold: Some(0.0),
            top_k: Some(5.0),
            decoder_layers: Some(6.0),
            nms_iou: Some(None),
            input_size: Some(320.0),
            max_size: Some(320.0),
            labels: Some(vec![
                Label::Name("bicycle".into()),
                Label::Id(1.0),
                Label::Id(2.0),
            ]),
        };
        let got = req.resolve(defaults.clone(), 6, 160, &classes).unwrap();
        assert_eq!(got.options.labels, Some(vec![1, 2]));
        assert_eq!(got.options.threshold, 0.0);
        assert_eq!(got.options.top_k, 5);
        assert_eq!(got.options.dec_layers, Some(6));
        assert_eq!(got.options.nms_iou, None);
        assert_eq!(got.sizes, (320, 320));
        let bad = |labels| {
            let req = DetectRequest {
                labels: Some(labels),
                ..DetectRequest::default()
            };
            req.resolve(defaults.clone(), 6, 160, &classes)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            bad(vec![Label::Name("cat".into())]),
            "bad detect options: no class is named `cat` (the model's classes: person, bicycle)"
        );
        assert_eq!(
            bad(vec![Label::Id(3.0)]),
            "bad detect options: label id 3 is not an integer in 0..3"
        );
    }
}
