#!/usr/bin/env python3
"""Picks a model's display threshold: the score threshold with the best F1 on a COCO-format
dataset (a detection is right when it matches an unmatched ground-truth box of its class at
IoU >= 0.5, greedily by score), after class-wise NMS at --nms.

    python3 scripts/pick-threshold.py --vidt target/release/vidt --weights M.vidt --data val

Prints one JSON line per threshold and the best last. Standard library only."""
import argparse, json, pathlib, subprocess


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vidt", default="vidt")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--nms", type=float, default=0.7)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    data = pathlib.Path(a.data)
    coco = json.loads((data / "annotations.json").read_text())
    files = {im["id"]: str(data / "images" / im["file_name"]) for im in coco["images"]}
    gts = {}
    for o in coco["annotations"]:
        if o.get("iscrowd", 0):
            continue
        x, y, w, h = o["bbox"]
        gts.setdefault(files[o["image_id"]], []).append((o["category_id"], [x, y, x + w, y + h]))
    out = subprocess.run(
        [a.vidt, "detect", *files.values(), "--weights", a.weights, "--device", a.device,
         "--threshold", "0.05", "--nms", str(a.nms)],
        check=True, capture_output=True, text=True).stdout
    dets = {r["image"]: r["detections"] for r in json.loads(out)}
    n_gt = sum(len(v) for v in gts.values())
    best = None
    for t in [i / 100 for i in range(5, 100, 5)]:
        tp = fp = 0
        for img, ds in dets.items():
            free = list(gts.get(img, []))
            for d in sorted((d for d in ds if d["score"] >= t), key=lambda d: -d["score"]):
                m = [(iou(d["box"], g[1]), i) for i, g in enumerate(free) if g[0] == d["label_id"]]
                m = [x for x in m if x[0] >= 0.5]
                if m:
                    free.pop(max(m)[1])
                    tp += 1
                else:
                    fp += 1
        p = tp / max(tp + fp, 1)
        r = tp / max(n_gt, 1)
        f1 = 2 * p * r / max(p + r, 1e-9)
        row = {"threshold": t, "precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}
        print(json.dumps(row))
        if best is None or f1 > best["f1"]:
            best = row
    print(json.dumps({"best": best, "nms": a.nms}))


if __name__ == "__main__":
    main()
