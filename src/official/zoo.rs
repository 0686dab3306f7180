//! Every released official checkpoint by name, with what the official READMEs report for it:
//! the data is `zoo.json` beside this file (its `source` says which README and commit each
//! figure was copied from), read once. `vidt models`, the `--weights` names and the browser's
//! `officialModels()` all read it.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// One released checkpoint, as the official README lists it (`None`: the README gives nothing).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OfficialModel {
    /// The name `--weights` takes: the file stem, with `_distil` for the distilled release
    /// (whose files have the undistilled names under another tag).
    pub name: String,
    /// The GitHub release tag the file is attached to.
    pub release: String,
    pub file: String,
    /// `ViDT` or `ViDT+`.
    pub variant: String,
    pub backbone: String,
    pub epochs: u32,
    pub ap: f64,
    pub ap50: Option<f64>,
    pub ap75: Option<f64>,
    /// As printed (`16M`, `0.1B`).
    pub params: String,
    pub fps: Option<f64>,
    /// The GPU the FPS was measured on, where the README names it.
    pub fps_gpu: Option<String>,
    /// Whether the checkpoint predicts instance masks (ViDT+'s UQR vectors); `None`: not stated.
    pub masks: Option<bool>,
    pub mask_ap: Option<f64>,
    /// The evaluation command's `--det_token_num`.
    pub det_tokens: Option<u32>,
    /// The evaluation command's `--dec_layers` (`None`: not stated; read from the keys).
    pub dec_layers: Option<u32>,
    pub epff: Option<bool>,
    /// Which README section the figures come from.
    pub source: String,
}

#[derive(Deserialize)]
struct Zoo {
    base: String,
    models: Vec<OfficialModel>,
}

fn zoo() -> &'static Zoo {
    static ZOO: OnceLock<Zoo> = OnceLock::new();
    // A malformed table is a build defect, caught by every test that lists the models.
    ZOO.get_or_init(|| serde_json::from_str(include_str!("zoo.json")).expect("zoo.json"))
}

/// Every official checkpoint, in the READMEs' order.
pub fn official_models() -> &'static [OfficialModel] {
    &zoo().models
}

/// The checkpoint called `name`.
pub fn official_model(name: &str) -> Option<&'static OfficialModel> {
    official_models().iter().find(|m| m.name == name)
}

impl OfficialModel {
    /// Its download URL under `base` (the releases' download root: the official
    /// `https://github.com/naver-ai/vidt/releases/download` unless given).
    pub fn url_under(&self, base: Option<&str>) -> String {
        let base = base.unwrap_or(&zoo().base).trim_end_matches('/');
        format!("{base}/{}/{}", self.release, self.file)
    }
}

/// A checkpoint with its download URL, as `vidt models --json` and the browser's
/// `officialModels()` list them.
#[derive(Serialize)]
pub struct Listing {
    #[serde(flatten)]
    pub model: &'static OfficialModel,
    pub url: String,
}

/// Every checkpoint with its URL under `base` (see [`OfficialModel::url_under`]).
pub fn listing(base: Option<&str>) -> Vec<Listing> {
    official_models()
        .iter()
        .map(|model| Listing {
            model,
            url: model.url_under(base),
        })
        .collect()
}

/// `models` as a text table, one line each (`-`: not given), then where the figures come from.
pub fn table(models: &[OfficialModel]) -> String {
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    let mut rows = vec![
        [
            "name", "variant", "backbone", "epochs", "AP", "AP50", "AP75", "params", "FPS",
            "masks", "release",
        ]
        .map(String::from),
    ];
    for m in models {
        rows.push([
            m.name.clone(),
            m.variant.clone(),
            m.backbone.clone(),
            m.epochs.to_string(),
            format!("{:.1}", m.ap),
            opt(m.ap50),
            opt(m.ap75),
            m.params.clone(),
            m.fps.map_or("-".into(), |f| match &m.fps_gpu {
                Some(g) => format!("{f:.1} ({g})"),
                None => format!("{f:.1}"),
            }),
            match (m.masks, m.mask_ap) {
                (Some(true), Some(ap)) => format!("yes (AP {ap:.1})"),
                (Some(true), None) => "yes".into(),
                (Some(false), _) => "no".into(),
                (None, _) => "?".into(),
            },
            m.release.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "\nCOCO val2017 box AP as the official READMEs print them (naver-ai/vidt, main 5207d04 and \
         vidt-plus a8c48b5; '-': not given, masks '?': not stated). FPS without a GPU: the main \
         README does not name it. `vidt models --json` adds each row's README section.\n"
    ));
    out
}
