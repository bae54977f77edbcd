"""The two feature encoders give the same tensors, bit for bit (docs/MODEL.md): the server's
(model/features.cc, through encode_features_dump) and the recipe's (features.encode_batch); and
so does the decodings' Gumbel noise (the server's GumbelNoise, the recipe's decoding_noise, which
the model's self-test relies on).

Shared fixtures: problems from routeserve-datagen over every regime and sizes up to the largest
bucket, in padded batches of mixed sizes, and the hand-written requests in fixtures/ for what
the generator does not reach:

  end_position    an end position farther than every stop (it sets dist_scale; its legs clip)
  caller_matrix   the caller's matrix with an end position: a -0, a subnormal, legs past
                  10 x time_scale, a non-zero diagonal; the courier's speed_mps (unused)
  on_board        dropoffs whose pickup is not in the problem, one of load 0
  time_windows    windows opening and closing in the past, at now, far ahead (clipped), one
                  side or both; a day's service (clipped); lowerCamelCase JSON names
  lng_wrap_east   a courier just west of 180 deg, stops and the end position across it
  lng_wrap_west   a courier at -180 deg, a stop at +180 deg (the same point)
  single_stop     one stop at the courier's position (both scales at their floors), capacity 0,
                  the courier's speed_mps; padded to N = 1 too

The dumper's path comes from ROUTESERVE_ENCODE_DUMP and the generator's from ROUTESERVE_DATAGEN
(ctest sets both); without the dumper there is nothing to compare and the tests are skipped.
"""

import glob
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

import features

ENCODE_DUMP = os.environ.get("ROUTESERVE_ENCODE_DUMP")
DATAGEN = os.environ.get("ROUTESERVE_DATAGEN")
FIXTURES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
REGIMES = 7  # routeserve-datagen's regimes; problem i's is its seed mod 7
DECODINGS = 4  # the dumper's noise: greedy and three sampled decodings


def hand_written():
    """The requests of fixtures/, as (file name, request) in name order."""
    cases = []
    for path in sorted(glob.glob(os.path.join(FIXTURES_DIR, "*.json"))):
        with open(path, encoding="utf-8") as file:
            cases.append((os.path.basename(path), json.load(file)))
    return cases


@unittest.skipUnless(ENCODE_DUMP, "ROUTESERVE_ENCODE_DUMP is not set (ctest sets it to the "
                     "built encode_features_dump): no C++ encoder to compare with")
class ParityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="routeserve-parity-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def generated(self, count, stops, seed):
        """Datagen's requests as (seed and regime, request), and the regimes drawn. No exact
        solving and no perturbation rounds: the labels are not compared."""
        self.assertTrue(DATAGEN, "ROUTESERVE_DATAGEN is not set (ctest sets it to the built "
                        "routeserve-datagen)")
        path = os.path.join(self.dir, f"generated-{seed}.jsonl")
        subprocess.run([DATAGEN, "--count", str(count), "--stops", stops, "--seed", str(seed),
                        "--exact_up_to", "0", "--rounds", "0", "--threads", "1", "--out", path],
                       check=True, capture_output=True)
        with open(path, encoding="utf-8") as lines:
            records = [json.loads(line) for line in lines if line.strip()]
        cases = [(f"seed {r['seed']} ({r['regime']}, {len(r['request']['stops'])} stops)",
                  r["request"]) for r in records]
        return cases, {r["regime"] for r in records}

    def assert_parity(self, cases, padded_size):
        """Encodes the requests of `cases` ((name, proto JSON) pairs) as one batch padded to
        `padded_size` on both sides and compares every tensor's dtype, shape and bits.

        Exact equality, float32 included: both encoders compute in float64 with the same
        operations in the same order (+ - * / and sqrt are correctly rounded; sin, cos, asin,
        log and fmod are the same C library's on both sides, Python's math module calling it),
        from the same doubles (proto JSON numbers are parsed correctly rounded by both), and
        round to float32 once, at the end. Any differing bit is a departure from the contract.
        """
        path = os.path.join(self.dir, "requests.jsonl")
        with open(path, "w", encoding="utf-8") as out:
            for _, request in cases:
                out.write(json.dumps(request) + "\n")  # floats as repr: they round-trip
        dumped = os.path.join(self.dir, f"dump-{padded_size}")
        os.makedirs(dumped, exist_ok=True)
        run = subprocess.run([ENCODE_DUMP, "--requests", path, "--padded_size", str(padded_size),
                              "--decodings", str(DECODINGS), "--out", dumped],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        problems = [features.parse_request(r) for _, r in cases]
        expected = features.encode_batch(problems, padded_size)
        expected["noise"] = np.stack([features.decoding_noise(p, DECODINGS, padded_size)
                                      for p in problems])
        for key in features.INPUT_KEYS + ("noise",):
            with self.subTest(tensor=key, padded_size=padded_size):
                cpp = np.load(os.path.join(dumped, f"{key}.npy"))
                python = expected[key]
                self.assertEqual((cpp.dtype, cpp.shape), (python.dtype, python.shape))
                bits = {1: np.uint8, 4: np.uint32, 8: np.uint64}[cpp.dtype.itemsize]
                differ = np.argwhere(cpp.view(bits) != python.view(bits))
                if len(differ):
                    where = tuple(int(i) for i in differ[0])
                    self.fail(f"{len(differ)} values differ; the first at {where} "
                              f"({cases[where[0]][0]}): C++ {cpp[where]!r}, "
                              f"Python {python[where]!r}")

    def test_every_regime_in_mixed_batches(self):
        cases, regimes = self.generated(4 * REGIMES, "1-40", seed=21)
        self.assertEqual(len(regimes), REGIMES)
        largest = max(len(request["stops"]) for _, request in cases)
        for padded_size in (largest, 64):
            self.assert_parity(cases, padded_size)

    def test_largest_bucket(self):
        cases, _ = self.generated(REGIMES, "100-128", seed=22)
        self.assert_parity(cases, 128)

    def test_each_hand_written_fixture(self):
        cases = hand_written()
        self.assertTrue(cases, f"no fixtures in {FIXTURES_DIR}")
        for name, request in cases:
            n = len(request["stops"])
            for padded_size in sorted(size for size in {1, n, 8, 16} if size >= n):
                with self.subTest(fixture=name, padded_size=padded_size):
                    self.assert_parity([(name, request)], padded_size)

    def test_hand_written_with_generated_in_one_batch(self):
        generated, _ = self.generated(REGIMES, "1-12", seed=23)
        self.assert_parity(hand_written() + generated, 16)

if __name__ == "__main__":
    unittest.main()
