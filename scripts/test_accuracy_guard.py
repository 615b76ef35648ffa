"""Unit tests of scripts/accuracy_guard.py (standard library only).

Run from the repository root: python3 -m unittest scripts/test_accuracy_guard.py
(or from scripts/: python3 -m unittest test_accuracy_guard).
"""

import copy
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import accuracy_guard  # noqa: E402


def face(x, y, w, h, score):
    return {"box": [x, y, w, h], "score": score}


def obj(label, x, y, w, h, score):
    return {"label": label, "box": [x, y, w, h], "score": score}


DOC = {
    "version": "test",
    "images": [
        {
            "path": "samples/solvay_1927.jpg",
            "faces": [face(100 + 60 * i, 200, 40, 50, 0.9 - 0.01 * i) for i in range(29)],
            "objects": [obj("person", 90 + 60 * i, 180, 55, 300, 0.8) for i in range(3)],
            "error": None,
        },
        {
            "path": "samples/dog.jpg",
            "faces": [],
            "objects": [obj("dog", 120, 210, 200, 330, 0.9), obj("bicycle", 110, 120, 450, 300, 0.85)],
            "error": None,
        },
        {
            "path": "samples/astronaut.png",
            "faces": [face(181.3, 53.7, 92.6, 124.5, 0.94)],
            "objects": [obj("person", 11, 20, 357, 487, 0.92)],
            "error": None,
        },
    ],
    "videos": [],
}


class GuardTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def write(self, name, doc):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def run_guard(self, candidate, *extra):
        base = self.write("base.json", DOC)
        cand = self.write("cand.json", candidate)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = accuracy_guard.main([base, cand, *extra])
        return code, out.getvalue()

    def test_iou(self):
        self.assertAlmostEqual(accuracy_guard.iou([0, 0, 10, 10], [0, 0, 10, 10]), 1.0)
        self.assertAlmostEqual(accuracy_guard.iou([0, 0, 10, 10], [5, 0, 10, 10]), 1 / 3)
        self.assertEqual(accuracy_guard.iou([0, 0, 10, 10], [20, 20, 5, 5]), 0.0)

    def test_itself_is_100_percent(self):
        code, out = self.run_guard(DOC, "--min", "1.0", "--require", "solvay_1927.jpg=29")
        self.assertEqual(code, 0, out)
        self.assertIn("faces found 30/30 (100.0 %)", out)
        self.assertIn("objects found 6/6 (100.0 %)", out)
        self.assertIn("adds 0 faces, 0 objects", out)
        self.assertIn("PASS", out)

    def test_a_removed_face_is_lost(self):
        cand = copy.deepcopy(DOC)
        del cand["images"][0]["faces"][7]
        code, out = self.run_guard(cand, "--min", "1.0")
        self.assertEqual(code, 1, out)
        self.assertIn("faces found 29/30 (96.7 %)", out)
        self.assertIn("samples/solvay_1927.jpg: faces 28/29", out)
        # The same loss passes a looser floor.
        self.assertEqual(self.run_guard(cand, "--min", "0.95")[0], 0)

    def test_a_box_shifted_by_half_its_width_is_lost(self):
        cand = copy.deepcopy(DOC)
        box = cand["images"][2]["faces"][0]["box"]
        box[0] += box[2] / 2  # IoU 1/3
        code, out = self.run_guard(cand, "--min", "1.0")
        self.assertEqual(code, 1, out)
        self.assertIn("faces found 29/30", out)
        self.assertIn("the candidate adds 1 faces", out)
        self.assertIn("samples/astronaut.png: faces 0/1 (0.0 %)", out)

    def test_a_small_shift_is_still_found(self):
        cand = copy.deepcopy(DOC)
        for f in cand["images"][0]["faces"]:
            f["box"][0] += f["box"][2] * 0.1
            f["score"] -= 0.05
        code, out = self.run_guard(cand, "--min", "1.0")
        self.assertEqual(code, 0, out)

    def test_objects_need_the_same_label(self):
        cand = copy.deepcopy(DOC)
        cand["images"][1]["objects"][0]["label"] = "cat"
        code, out = self.run_guard(cand, "--min", "1.0")
        self.assertEqual(code, 1, out)
        self.assertIn("objects found 5/6", out)

    def test_require_counts_faces_by_file_name(self):
        cand = copy.deepcopy(DOC)
        del cand["images"][0]["faces"][0]
        code, out = self.run_guard(cand, "--min", "0.9", "--require", "solvay_1927.jpg=29")
        self.assertEqual(code, 1, out)
        self.assertIn("solvay_1927.jpg: 28 faces < 29", out)
        code, out = self.run_guard(DOC, "--require", "nowhere.jpg=1")
        self.assertEqual(code, 1, out)
        self.assertIn("nowhere.jpg: not in the candidate", out)

    def test_a_missing_or_failed_image_loses_everything(self):
        cand = copy.deepcopy(DOC)
        del cand["images"][2]
        cand["images"][1]["error"] = "decode failed"
        cand["images"][1]["objects"] = None
        code, out = self.run_guard(cand, "--min", "0.5")
        self.assertEqual(code, 0, out)
        self.assertIn("(1 missing from the candidate)", out)
        self.assertIn("faces found 29/30", out)
        self.assertIn("objects found 3/6", out)

    def test_one_candidate_box_matches_one_baseline_box(self):
        base = [face(0, 0, 10, 10, 0.9), face(1, 0, 10, 10, 0.8)]
        self.assertEqual(accuracy_guard.match(base, [face(0, 0, 10, 10, 0.9)], False), 1)
        self.assertEqual(accuracy_guard.match(base, base, False), 2)

    def write_verdicts(self, rows):
        path = os.path.join(self.dir.name, "verdicts.csv")
        with open(path, "w") as f:
            f.write("image,x,y,w,h,verdict,why\n")
            for row in rows:
                f.write(",".join(str(v) for v in row) + "\n")
        return path

    def test_faces_judged_false_are_set_apart(self):
        cand = copy.deepcopy(DOC)
        del cand["images"][2]["faces"][0]
        del cand["images"][0]["faces"][3]
        # Without verdicts both losses count.
        code, out = self.run_guard(cand, "--min", "1.0")
        self.assertEqual(code, 1, out)
        self.assertIn("faces found 28/30", out)
        # The astronaut's face judged not a face (box shifted a little, IoU >= 0.5):
        # one real loss remains, out of 29.
        verdicts = self.write_verdicts([("astronaut.png", 185, 55, 92.6, 124.5, "not-a-face", "test"),
                                        ("elsewhere.jpg", 0, 0, 10, 10, "fragment", "stale")])
        code, out = self.run_guard(cand, "--min", "1.0", "--verdicts", verdicts)
        self.assertEqual(code, 1, out)
        self.assertIn("1 baseline faces set apart", out)
        self.assertIn("1 entries match no baseline face", out)
        self.assertIn("before setting apart, faces found 28/30", out)
        self.assertIn("faces found 28/29", out)
        # Judging the Solvay loss too leaves nothing lost.
        box = DOC["images"][0]["faces"][3]["box"]
        verdicts = self.write_verdicts([("astronaut.png", 181.3, 53.7, 92.6, 124.5, "not-a-face", "test"),
                                        ("solvay_1927.jpg", *box, "fragment", "test")])
        code, out = self.run_guard(cand, "--min", "1.0", "--verdicts", verdicts)
        self.assertEqual(code, 0, out)
        self.assertIn("faces found 28/28 (100.0 %)", out)

    def test_a_bad_verdict_is_refused(self):
        verdicts = self.write_verdicts([("astronaut.png", 1, 2, 3, 4, "maybe", "test")])
        with self.assertRaises(SystemExit) as e, contextlib.redirect_stderr(io.StringIO()) as err:
            self.run_guard(DOC, "--verdicts", verdicts)
        self.assertEqual(e.exception.code, 2)
        self.assertIn("verdict 'maybe'", err.getvalue())


if __name__ == "__main__":
    unittest.main()
