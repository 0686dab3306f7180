"""Reference COCO statistics from pycocotools, for tests/eval.rs: prints the 12 numbers as JSON."""
import contextlib, io, json, sys

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

gt_path, dt_path = sys.argv[1], sys.argv[2]
iou_type = sys.argv[3] if len(sys.argv) > 3 else "bbox"
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(gt_path)
    dets = json.load(open(dt_path))
    dt = gt.loadRes(dets) if dets else COCO()
    ev = COCOeval(gt, dt, iou_type)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
keys = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
print(json.dumps(dict(zip(keys, [float(x) for x in ev.stats]))))
