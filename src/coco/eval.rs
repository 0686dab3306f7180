//! COCO bbox and segm evaluation, the same definitions as pycocotools' COCOeval: IoU thresholds
//! .50:.05:.95, 101-point interpolated precision, area ranges all/small/medium/large (from the
//! ground truth's `area` field; detections' from their box), maxDets 1/10/100, crowd ground
//! truth matched by intersection over the detection's area and never counted as missed.
//! `segm` measures the same on masks: IoU of run-length encodings (pycocotools' `rleIou`),
//! ground-truth polygons rasterized as its `annToRLE`.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::dataset::{CocoFile, Dataset, Sample};
use super::masks::Segmentation;
use crate::boxes::{coco_iou, xyxy_to_xywh};
use crate::defaults::TOP_K;
use crate::detect::postprocess::postprocess;
use crate::detect::preprocess::{load_image, make_batch};
use crate::detect::uqr::{MaskCodec, detection_mask};
use crate::error::Result;
use crate::model::{ForwardOptions, Vidt, VidtOutput};
use crate::ops::VidtBackend;
use crate::rle::mask_runs;
use crate::tensor_map::read;

/// One detection in COCO results format.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CocoDetection {
    pub image_id: u64,
    pub category_id: usize,
    /// `[x, y, w, h]` in pixels.
    pub bbox: [f32; 4],
    pub score: f32,
    /// The instance mask (COCO RLE), for `segm` evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<Segmentation>,
}

/// What IoU compares: boxes, or instance masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum IouType {
    #[default]
    Bbox,
    Segm,
}

/// A ground truth's or detection's region: its box (`[x, y, w, h]`) or its mask as
/// column-major runs (the first of zeros) with its pixel count.
enum Region {
    Box([f64; 4]),
    Mask { runs: Vec<u64>, area: u64 },
}

fn region_iou(d: &Region, g: &Region, crowd: bool) -> f64 {
    match (d, g) {
        (Region::Box(d), Region::Box(g)) => coco_iou(*d, *g, crowd),
        (Region::Mask { runs: a, area: da }, Region::Mask { runs: b, area: ga }) => {
            let inter = runs_intersection(a, b);
            let union = if crowd { *da } else { da + ga - inter };
            if union == 0 {
                0.0
            } else {
                inter as f64 / union as f64
            }
        }
        _ => 0.0,
    }
}

/// Pixels set in both run-length masks (same size).
fn runs_intersection(a: &[u64], b: &[u64]) -> u64 {
    let (mut i, mut j) = (0, 0);
    let (mut ra, mut rb) = (
        a.first().copied().unwrap_or(0),
        b.first().copied().unwrap_or(0),
    );
    let mut inter = 0;
    while i < a.len() && j < b.len() {
        let step = ra.min(rb);
        if i % 2 == 1 && j % 2 == 1 {
            inter += step;
        }
        ra -= step;
        rb -= step;
        while ra == 0 && i < a.len() {
            i += 1;
            ra = a.get(i).copied().unwrap_or(0);
        }
        while rb == 0 && j < b.len() {
            j += 1;
            rb = b.get(j).copied().unwrap_or(0);
        }
    }
    inter
}

/// A segmentation's runs on an `h x w` image.
fn mask_region(s: &Segmentation, h: usize, w: usize) -> std::result::Result<Region, String> {
    let runs = mask_runs(&s.decode(h, w)?, (h, w));
    // The odd runs are the ones.
    let area = runs.iter().skip(1).step_by(2).sum();
    Ok(Region::Mask { runs, area })
}

/// The 12 standard statistics.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[allow(non_snake_case)]
pub struct CocoStats {
    pub AP: f64,
    pub AP50: f64,
    pub AP75: f64,
    pub APs: f64,
    pub APm: f64,
    pub APl: f64,
    pub AR1: f64,
    pub AR10: f64,
    pub AR100: f64,
    pub ARs: f64,
    pub ARm: f64,
    pub ARl: f64,
}

const AREAS: [(f64, f64); 4] = [(0.0, 1e10), (0.0, 1024.0), (1024.0, 9216.0), (9216.0, 1e10)];
const MAX_DETS: [usize; 3] = [1, 10, 100];

struct Gt {
    region: Region,
    area: f64,
    crowd: bool,
}

struct Dt {
    region: Region,
    area: f64,
    score: f64,
}

/// Per (image, category, area range): detection scores, matched flags per threshold, ignore
/// flags per threshold, and the number of non-ignored ground truths.
struct ImageEval {
    scores: Vec<f64>,
    matched: Vec<Vec<bool>>,
    ignored: Vec<Vec<bool>>,
    num_gt: usize,
}

fn evaluate_image(
    gts: &[&Gt],
    dts: &[&Dt],
    area: (f64, f64),
    thresholds: &[f64],
) -> Option<ImageEval> {
    if gts.is_empty() && dts.is_empty() {
        return None;
    }
    let gt_ignore: Vec<bool> = gts
        .iter()
        .map(|g| g.crowd || g.area < area.0 || g.area > area.1)
        .collect();
    // Non-ignored ground truth first (stable), detections by descending score (stable), top 100.
    let mut gorder: Vec<usize> = (0..gts.len()).collect();
    gorder.sort_by_key(|&i| gt_ignore[i]);
    let mut dorder: Vec<usize> = (0..dts.len()).collect();
    dorder.sort_by(|&a, &b| dts[b].score.total_cmp(&dts[a].score));
    dorder.truncate(MAX_DETS[2]);
    let g: Vec<&Gt> = gorder.iter().map(|&i| gts[i]).collect();
    let gig: Vec<bool> = gorder.iter().map(|&i| gt_ignore[i]).collect();
    let d: Vec<&Dt> = dorder.iter().map(|&i| dts[i]).collect();
    let ious: Vec<Vec<f64>> = d
        .iter()
        .map(|dd| {
            g.iter()
                .map(|gg| region_iou(&dd.region, &gg.region, gg.crowd))
                .collect()
        })
        .collect();
    let (nt, nd, ng) = (thresholds.len(), d.len(), g.len());
    let mut dtm = vec![vec![false; nd]; nt];
    let mut dt_ig = vec![vec![false; nd]; nt];
    for (ti, &t) in thresholds.iter().enumerate() {
        let mut gtm = vec![false; ng];
        for di in 0..nd {
            let mut best = t.min(1.0 - 1e-10);
            let mut m: Option<usize> = None;
            for gi in 0..ng {
                if gtm[gi] && !g[gi].crowd {
                    continue;
                }
                if let Some(mi) = m
                    && !gig[mi]
                    && gig[gi]
                {
                    break;
                }
                if ious[di][gi] < best {
                    continue;
                }
                best = ious[di][gi];
                m = Some(gi);
            }
            if let Some(mi) = m {
                dt_ig[ti][di] = gig[mi];
                dtm[ti][di] = true;
                gtm[mi] = true;
            }
        }
        // Unmatched detections outside the area range are ignored.
        for di in 0..nd {
            if !dtm[ti][di] && (d[di].area < area.0 || d[di].area > area.1) {
                dt_ig[ti][di] = true;
            }
        }
    }
    Some(ImageEval {
        scores: d.iter().map(|x| x.score).collect(),
        matched: dtm,
        ignored: dt_ig,
        num_gt: gig.iter().filter(|&&x| !x).count(),
    })
}

/// Evaluates `detections` against `gt` (every category and image of the ground truth), boxes.
pub fn evaluate(gt: &CocoFile, detections: &[CocoDetection]) -> CocoStats {
    evaluate_as(gt, detections, IouType::Bbox).expect("box evaluation cannot fail")
}

/// As [`evaluate`], on boxes or on masks; with `Segm`, an annotation or detection without a
/// segmentation (or one that does not decode on its image) is an error naming it. The three
/// steps of pycocotools' `COCOeval`: evaluate (per image, category and area range),
/// accumulate (precision and recall curves), summarize (the 12 statistics).
pub fn evaluate_as(gt: &CocoFile, detections: &[CocoDetection], iou: IouType) -> Result<CocoStats> {
    let inputs = Inputs::new(gt, detections, iou)?;
    Ok(summarize(&accumulate(&inputs)))
}

/// Ground truths and detections by (image, category), with the images and categories in
/// COCOeval's order.
struct Inputs {
    /// Sorted ids, as COCOeval's params: the order decides ties between equal scores.
    images: Vec<u64>,
    cats: Vec<usize>,
    gts: HashMap<(u64, usize), Vec<Gt>>,
    dts: HashMap<(u64, usize), Vec<Dt>>,
}

impl Inputs {
    fn new(gt: &CocoFile, detections: &[CocoDetection], iou: IouType) -> Result<Self> {
        let sizes: HashMap<u64, (usize, usize)> = gt
            .images
            .iter()
            .map(|i| (i.id, (i.height as usize, i.width as usize)))
            .collect();
        let region = |what: String, image: u64, b: [f64; 4], s: Option<&Segmentation>| {
            if iou == IouType::Bbox {
                return Ok(Region::Box(b));
            }
            let bad = |reason: String| crate::error::VidtError::Input {
                name: what.clone(),
                reason,
            };
            let &(h, w) = sizes
                .get(&image)
                .ok_or_else(|| bad(format!("image id {image} is not in the ground truth")))?;
            let s =
                s.ok_or_else(|| bad("has no segmentation (--iou-type segm needs one)".into()))?;
            mask_region(s, h, w).map_err(bad)
        };
        let mut gts: HashMap<(u64, usize), Vec<Gt>> = HashMap::new();
        for (i, a) in gt.annotations.iter().enumerate() {
            let b = a.bbox.map(f64::from);
            let what = format!("annotations[{i}] (id {})", a.id);
            gts.entry((a.image_id, a.category_id))
                .or_default()
                .push(Gt {
                    region: region(what, a.image_id, b, a.segmentation.as_ref())?,
                    area: a.area as f64,
                    crowd: a.iscrowd != 0,
                });
        }
        let mut dts: HashMap<(u64, usize), Vec<Dt>> = HashMap::new();
        for (i, d) in detections.iter().enumerate() {
            let b = d.bbox.map(f64::from);
            let region = region(
                format!("detection {i}"),
                d.image_id,
                b,
                d.segmentation.as_ref(),
            )?;
            // pycocotools' loadRes: a result with a bbox takes its area from the box, masks or not.
            let area = b[2] * b[3];
            dts.entry((d.image_id, d.category_id))
                .or_default()
                .push(Dt {
                    region,
                    area,
                    score: d.score as f64,
                });
        }
        let images: BTreeSet<u64> = gt.images.iter().map(|i| i.id).collect();
        let cats: BTreeSet<usize> = gt.categories.iter().map(|c| c.id).collect();
        Ok(Self {
            images: images.into_iter().collect(),
            cats: cats.into_iter().collect(),
            gts,
            dts,
        })
    }

    /// The per-image evaluations of category `cat` in area range `area`.
    fn evaluate(&self, cat: usize, area: (f64, f64), thresholds: &[f64]) -> Vec<ImageEval> {
        let (no_g, no_d) = (Vec::new(), Vec::new());
        self.images
            .iter()
            .filter_map(|&img| {
                let g: Vec<&Gt> = self.gts.get(&(img, cat)).unwrap_or(&no_g).iter().collect();
                let d: Vec<&Dt> = self.dts.get(&(img, cat)).unwrap_or(&no_d).iter().collect();
                evaluate_image(&g, &d, area, thresholds)
            })
            .collect()
    }
}

/// A dense `D`-dimensional array of f64, row-major, every entry -1 (pycocotools' "no ground
/// truth") until set.
struct Grid<const D: usize> {
    dims: [usize; D],
    data: Vec<f64>,
}

impl<const D: usize> Grid<D> {
    fn new(dims: [usize; D]) -> Self {
        Self {
            dims,
            data: vec![-1.0; dims.iter().product()],
        }
    }

    fn offset(&self, at: [usize; D]) -> usize {
        at.iter().zip(&self.dims).fold(0, |o, (&i, &n)| {
            debug_assert!(i < n);
            o * n + i
        })
    }

    fn set(&mut self, at: [usize; D], v: f64) {
        let o = self.offset(at);
        self.data[o] = v;
    }

    /// Every entry whose index `keep` accepts.
    fn select(&self, keep: impl Fn([usize; D]) -> bool) -> Vec<f64> {
        let mut out = Vec::new();
        let mut at = [0usize; D];
        for &v in &self.data {
            if keep(at) {
                out.push(v);
            }
            // Next index, last dimension fastest (the data's order).
            for d in (0..D).rev() {
                at[d] += 1;
                if at[d] < self.dims[d] {
                    break;
                }
                at[d] = 0;
            }
        }
        out
    }
}

/// COCOeval's `eval`: precision `[T, R, K, A, M]` (IoU threshold, recall threshold, category,
/// area range, max detections) and recall `[T, K, A, M]`.
struct Accumulated {
    precision: Grid<5>,
    recall: Grid<4>,
}

/// COCOeval's `evaluate` then `accumulate`.
fn accumulate(inputs: &Inputs) -> Accumulated {
    // IoU thresholds 0.5:0.05:0.95, as COCOeval's params.
    let thresholds = linspace(0.5, 0.95, 10);
    let rec_thrs = linspace(0.0, 1.0, 101);
    let (nt, nr, nk, na, nm) = (
        thresholds.len(),
        rec_thrs.len(),
        inputs.cats.len(),
        AREAS.len(),
        MAX_DETS.len(),
    );
    let mut precision = Grid::new([nt, nr, nk, na, nm]);
    let mut recall = Grid::new([nt, nk, na, nm]);
    for (k, &cat) in inputs.cats.iter().enumerate() {
        for (a, &area) in AREAS.iter().enumerate() {
            let evals = inputs.evaluate(cat, area, &thresholds);
            let npig: usize = evals.iter().map(|e| e.num_gt).sum();
            if npig == 0 {
                continue;
            }
            for (m, &max_det) in MAX_DETS.iter().enumerate() {
                // (score, image eval, index) of every image's first max_det detections,
                // sorted by descending score, stable in image order.
                let mut all: Vec<(f64, usize, usize)> = Vec::new();
                for (ei, e) in evals.iter().enumerate() {
                    for di in 0..e.scores.len().min(max_det) {
                        all.push((e.scores[di], ei, di));
                    }
                }
                all.sort_by(|x, y| y.0.total_cmp(&x.0));
                for t in 0..nt {
                    let (mut tp, mut fp) = (0.0f64, 0.0f64);
                    let mut rc = Vec::with_capacity(all.len());
                    let mut pr = Vec::with_capacity(all.len());
                    for &(_, ei, di) in &all {
                        let e = &evals[ei];
                        if e.ignored[t][di] {
                            // Ignored detections change neither count.
                        } else if e.matched[t][di] {
                            tp += 1.0;
                        } else {
                            fp += 1.0;
                        }
                        rc.push(tp / npig as f64);
                        pr.push(tp / (fp + tp + f64::EPSILON));
                    }
                    recall.set([t, k, a, m], rc.last().copied().unwrap_or(0.0));
                    // The precision envelope: non-increasing from the right.
                    for i in (1..pr.len()).rev() {
                        if pr[i] > pr[i - 1] {
                            pr[i - 1] = pr[i];
                        }
                    }
                    for (r, &thr) in rec_thrs.iter().enumerate() {
                        // searchsorted(rc, thr, side='left')
                        let idx = rc.partition_point(|&x| x < thr);
                        let q = if idx < pr.len() { pr[idx] } else { 0.0 };
                        precision.set([t, r, k, a, m], q);
                    }
                }
            }
        }
    }
    Accumulated { precision, recall }
}

/// COCOeval's `summarize`: means over the valid entries (area index 0 = all, 1..=3 = small,
/// medium, large; max-detections index 0..=2 = 1, 10, 100).
fn summarize(acc: &Accumulated) -> CocoStats {
    // IoU threshold index 0 is 0.5, 5 is 0.75.
    let ap = |t: Option<usize>, a: usize, m: usize| {
        mean_valid(
            &acc.precision
                .select(|[ti, _, _, ai, mi]| t.is_none_or(|t| t == ti) && ai == a && mi == m),
        )
    };
    let ar =
        |a: usize, m: usize| mean_valid(&acc.recall.select(|[_, _, ai, mi]| ai == a && mi == m));
    CocoStats {
        AP: ap(None, 0, 2),
        AP50: ap(Some(0), 0, 2),
        AP75: ap(Some(5), 0, 2),
        APs: ap(None, 1, 2),
        APm: ap(None, 2, 2),
        APl: ap(None, 3, 2),
        AR1: ar(0, 0),
        AR10: ar(0, 1),
        AR100: ar(0, 2),
        ARs: ar(1, 2),
        ARm: ar(2, 2),
        ARl: ar(3, 2),
    }
}

/// numpy's `linspace` (same floating-point values: `i * step + start`, the last one exact).
fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    let step = (stop - start) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| i as f64 * step + start).collect();
    v[n - 1] = stop;
    v
}

/// Mean of the entries > -1, or -1 when there are none (pycocotools' convention).
fn mean_valid(v: &[f64]) -> f64 {
    let valid: Vec<f64> = v.iter().copied().filter(|&x| x > -1.0).collect();
    if valid.is_empty() {
        -1.0
    } else {
        valid.iter().sum::<f64>() / valid.len() as f64
    }
}

/// Runs `model` over every image of `ds` (resized so the shorter side is `size`, the longer at
/// most `max_size`) and returns its top-100 detections per image in COCO results format (the
/// model's label ids taken as category ids). `each` is handed every image's sample and outputs
/// (training computes its validation loss from the same forward passes).
pub fn detect_dataset<B: VidtBackend>(
    model: &Vidt<B>,
    ds: &Dataset,
    (size, max_size): (usize, usize),
    device: &B::Device,
    mut each: impl FnMut(&Sample, VidtOutput<B>) -> Result<()>,
) -> Result<Vec<CocoDetection>> {
    let mut out = Vec::new();
    let decoder = MaskCodec::default();
    for (s, &image_id) in ds.samples.iter().zip(&ds.image_ids) {
        let img = load_image(&s.path)?;
        let b = make_batch(std::slice::from_ref(&img), size, max_size)?;
        let x = burn::tensor::Tensor::<B, 4>::from_data(
            burn::tensor::TensorData::new(b.data, b.shape),
            device,
        );
        let o = model.forward(x, &b.mask, ForwardOptions::default())?;
        let classes = o.pred_logits.dims()[2];
        let logits = read(o.pred_logits.clone())?;
        let boxes = read(o.pred_boxes.clone())?;
        // ViDT+: each detection's mask too (the official post-processing's).
        let vectors = o.vectors.last().cloned().map(read).transpose()?;
        each(s, o)?;
        let size = b.original_sizes[0];
        for d in postprocess(&logits, &boxes, classes, size, TOP_K, &[], None) {
            let segmentation = vectors.as_ref().map(|v| {
                let k = v.len() / (logits.len() / classes);
                let vector = &v[d.query * k..(d.query + 1) * k];
                detection_mask(&decoder, vector, d.bbox, size).rle().into()
            });
            out.push(CocoDetection {
                image_id,
                category_id: d.label_id,
                bbox: xyxy_to_xywh(d.bbox),
                score: d.score,
                segmentation,
            });
        }
    }
    Ok(out)
}
