"""The owner-taught filter against scikit-learn, on the labelled corpus (issue 22). Prints; asserts nothing.

    .venv/py311/bin/python bench/classifier.py [--sklearn-python PATH] [--folds 5]

Two engines, each in a subprocess of its own (so that memory and import time are its own):

* formguard's pure-Python naive Bayes (``formguard.classifier``), multinomial and complement,
  on ``features()`` (character 1-3-grams, link and sender domains, script, languages…);
* scikit-learn's ``HashingVectorizer(analyzer="char_wb", ngram_range=(1, 3), binary=True)``
  with ``MultinomialNB`` and ``ComplementNB``, learning one sample at a time (``partial_fit``),
  on the same text (the typed fields and the sender's address). scikit-learn is not one of
  formguard's requirements: it runs from a throwaway virtualenv (``--sklearn-python``, default
  ``$FORMGUARD_BENCH_SKLEARN_PYTHON`` or /tmp/fg-sklearn-venv/bin/python), made with
  ``python -m venv /tmp/fg-sklearn-venv && /tmp/fg-sklearn-venv/bin/pip install scikit-learn``;
  without it that half is skipped, and the script says so.

For each: the install size it adds (du of the site-packages it needs, pip and setuptools left
out), the import time (the fastest of 5 fresh processes), the peak memory of the process
(ru_maxrss) and what the engine added to it, the learn and score time per sample (the fastest
of 5 rounds over the corpus, each into a new model), the model's size, and the cross-validated figures per
class on tests/corpus/ (whatever it holds: the folds are the i-th sample of a class in fold
i mod k, the same for both engines). formguard's is given twice: the label with the highest
probability (argmax, as scikit-learn's ``predict``) and ``decide()``'s rule, which leans toward
"customer". Then the size of formguard's model as it grows, up to 300 samples.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FILES = {"customers": "customer", "pitches": "sales", "spam": "spam"}
LABELS = ("spam", "sales", "customer")
ROUNDS = 5
DEFAULT_SKLEARN_PYTHON = "/tmp/fg-sklearn-venv/bin/python"
# Left out of an install size: what every virtualenv has.
VENV_BASE = ("pip", "setuptools", "_distutils_hack", "pkg_resources", "distutils-precedence.pth", "__pycache__")


def corpus() -> list[tuple[dict, str]]:
    """Every item of tests/corpus/ with its label, in file order."""
    from tests.corpus import load

    return [(item, label) for name, label in FILES.items() for item in load(name)]


def typed_fields(item: dict) -> dict[str, str]:
    return {**item.get("extra_first", {}), "name": item["name"], "message": item["message"]}


def folds_of(items: list[tuple[dict, str]], folds: int) -> list[int]:
    seen = dict.fromkeys(LABELS, 0)
    numbers = []
    for _, label in items:
        numbers.append(seen[label] % folds)
        seen[label] += 1
    return numbers


def max_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# Workers: one engine each, in its own process; each prints one JSON object ---------------


def worker_formguard(kind: str, folds: int) -> dict:
    import django.utils.translation  # noqa: F401  (a site has Django loaded already)

    rss_before = max_rss_kb()
    from formguard.classifier import NaiveBayes, Sample, choose

    items = corpus()

    def sample(item: dict) -> Sample:
        return Sample(fields=typed_fields(item), email=item["email"], page_language="ja")

    samples = [(sample(item), label) for item, label in items]
    learn, score, model = _timed(
        lambda: NaiveBayes(kind), lambda m, one, label: m.learn(one, label), NaiveBayes.scores, samples
    )
    size = len(model.to_bytes())
    argmax: dict[tuple[str, str], int] = {}
    rule: dict[tuple[str, str], int] = {}
    numbers = folds_of(items, folds)
    for fold in range(folds):
        trained = NaiveBayes(kind)
        for (one, label), number in zip(samples, numbers, strict=True):
            if number != fold:
                trained.learn(one, label)
        for (one, label), number in zip(samples, numbers, strict=True):
            if number == fold:
                scores = trained.scores(one)
                _count(argmax, label, max(LABELS, key=scores.__getitem__))
                _count(rule, label, choose(scores))
    timings = {"learn_s": learn, "score_s": score, "model_bytes": size}
    return _result(timings, rss_before, argmax=argmax, rule=rule)


def worker_sklearn(kind: str, folds: int) -> dict:
    import pickle

    rss_before = max_rss_kb()
    from sklearn.feature_extraction import FeatureHasher
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.naive_bayes import ComplementNB, MultinomialNB

    items = corpus()
    if kind.endswith("+features"):
        # The same naive Bayes on formguard's features (hashed by scikit-learn's
        # FeatureHasher): which part of the difference is the engine's, which the features'.
        features = _formguard_features()
        hasher = FeatureHasher(n_features=2**18, alternate_sign=False)

        def vectorize(item: dict):  # noqa: ANN202
            return hasher.transform([features(item)])
    else:
        text = HashingVectorizer(
            analyzer="char_wb", ngram_range=(1, 3), n_features=2**18, alternate_sign=False, binary=True, norm=None
        )

        def vectorize(item: dict):  # noqa: ANN202
            return text.transform(["\n".join([*typed_fields(item).values(), item["email"]])])

    estimator = {"multinomial": MultinomialNB, "complement": ComplementNB}[kind.removesuffix("+features")]
    learn, score, model = _timed(
        lambda: estimator(alpha=1.0),
        lambda m, item, label: m.partial_fit(vectorize(item), [label], classes=list(LABELS)),
        lambda m, item: m.predict_proba(vectorize(item)),
        items,
    )
    size = len(pickle.dumps(model))
    argmax: dict[tuple[str, str], int] = {}
    numbers = folds_of(items, folds)
    for fold in range(folds):
        trained = estimator(alpha=1.0)
        for (item, label), number in zip(items, numbers, strict=True):
            if number != fold:
                trained.partial_fit(vectorize(item), [label], classes=list(LABELS))
        for (item, label), number in zip(items, numbers, strict=True):
            if number == fold:
                _count(argmax, label, str(trained.predict(vectorize(item))[0]))
    timings = {"learn_s": learn, "score_s": score, "model_bytes": size}
    return _result(timings, rss_before, argmax=argmax)


def worker_growth(kind: str, folds: int) -> dict:
    """The model's size as it learns the corpus, one sample at a time."""
    from formguard.classifier import NaiveBayes, Sample

    items = corpus()
    # Interleaved (a customer, a pitch, a spam…), as labels come in, not a class at a time.
    order = sorted(range(len(items)), key=lambda i: folds_of(items, len(items))[i])
    model = NaiveBayes(kind)
    sizes = {}
    for n, i in enumerate(order, 1):
        item, label = items[i]
        model.learn(Sample(fields=typed_fields(item), email=item["email"], page_language="ja"), label)
        if n in (20, 50, 100, 200, 300) or n == len(items):
            sizes[n] = len(model.to_bytes())
    return {"sizes": sizes, "entries": sum(len(counts) for counts in model.counts.values())}


def _formguard_features():  # noqa: ANN202
    """``features()`` of an item, loaded without Django (the sklearn virtualenv has none):
    ``formguard.classifier``'s package imports its translated words, this module does not."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fg_samples", REPO / "formguard" / "classifier" / "samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fg_samples"] = module
    spec.loader.exec_module(module)
    return lambda item: module.features(
        module.Sample(fields=typed_fields(item), email=item["email"], page_language="ja")
    )


def _timed(new_model, learn_one, score_one, samples: list) -> tuple[float, float, object]:  # noqa: ANN001
    """Seconds per sample to learn the corpus one sample at a time into a new model, and to
    score each sample: the fastest of ROUNDS rounds (the machine is shared; noise only adds)."""
    learn, score = [], []
    for _ in range(ROUNDS):
        model = new_model()
        start = time.perf_counter()
        for one, label in samples:
            learn_one(model, one, label)
        learn.append((time.perf_counter() - start) / len(samples))
        start = time.perf_counter()
        for one, _ in samples:
            score_one(model, one)
        score.append((time.perf_counter() - start) / len(samples))
    return min(learn), min(score), model


def import_seconds(python: str, engine: str) -> float:
    """The import of an engine in a fresh process (after Django's translation module for
    formguard's, which a site has loaded): the fastest of ROUNDS processes."""
    modules = {
        "formguard": ("import django.utils.translation", "import formguard.classifier"),
        "sklearn": ("pass", "import sklearn.feature_extraction.text, sklearn.naive_bayes"),
    }[engine]
    code = f"import time; {modules[0]}; t = time.perf_counter(); {modules[1]}; print(time.perf_counter() - t)"
    runs = [
        subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
        for _ in range(ROUNDS)
    ]
    return min(float(run.stdout) for run in runs)


def _result(timings: dict, rss_before: int, **confusions: dict[tuple[str, str], int]) -> dict:
    rss = max_rss_kb()
    listed = {name: _listed(confusion) for name, confusion in confusions.items()}
    return {**timings, "rss_kb": rss, "rss_added_kb": rss - rss_before, **listed}


def _count(confusion: dict[tuple[str, str], int], labelled: str, judged: str) -> None:
    confusion[(labelled, judged)] = confusion.get((labelled, judged), 0) + 1


def _listed(confusion: dict[tuple[str, str], int]) -> list[list]:
    return [[a, b, n] for (a, b), n in sorted(confusion.items())]


# The parent: runs the workers, prints the table -----------------------------------------


def run_worker(python: str, name: str, kind: str, folds: int) -> dict:
    output = subprocess.run(
        [python, __file__, "--worker", name, "--kind", kind, "--folds", str(folds)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    return json.loads(output.stdout)


def site_packages_kb(python: str) -> int:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    path = Path(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip())
    entries = [str(p) for p in path.iterdir() if not p.name.startswith(VENV_BASE)]
    return int(subprocess.run(["du", "-sck", *entries], capture_output=True, text=True).stdout.split()[-2])


def _size(kb: float) -> str:
    return f"{kb:.0f}KB" if kb < 1024 else f"{kb / 1024:.1f}MB"


def figures(confusion: list[list]) -> str:
    table = {(a, b): n for a, b, n in confusion}
    parts = []
    for label in LABELS:
        count = sum(n for (a, _), n in table.items() if a == label)
        parts.append(f"{label} {table.get((label, label), 0)}/{count}")
    kept_out = []
    for label in ("spam", "sales"):
        out = sum(n for (a, b), n in table.items() if a == label and b != "customer")
        kept_out.append(f"{label} {out}/{sum(n for (a, _), n in table.items() if a == label)}")
    return ", ".join(parts) + f"; kept out: {', '.join(kept_out)}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--sklearn-python", default=os.environ.get("FORMGUARD_BENCH_SKLEARN_PYTHON", DEFAULT_SKLEARN_PYTHON)
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--worker", choices=("formguard", "sklearn", "growth"))
    parser.add_argument("--kind", default="multinomial")
    args = parser.parse_args()
    if args.worker:
        work = {"formguard": worker_formguard, "sklearn": worker_sklearn, "growth": worker_growth}[args.worker]
        print(json.dumps(work(args.kind, args.folds)))
        return

    counts = {label: sum(1 for _, of in corpus() if of == label) for label in LABELS}
    print(f"corpus: {', '.join(f'{label} {n}' for label, n in counts.items())}; {args.folds}-fold cross-validation")
    mine_kb = sum(p.stat().st_size for p in (REPO / "formguard" / "classifier").glob("*.py")) / 1024
    rows = [("formguard", kind, sys.executable, mine_kb) for kind in ("multinomial", "complement")]
    sklearn_ok = Path(args.sklearn_python).exists() and (
        subprocess.run([args.sklearn_python, "-c", "import sklearn"], capture_output=True).returncode == 0
    )
    if sklearn_ok:
        sklearn_kb = site_packages_kb(args.sklearn_python)
        kinds = ("multinomial", "complement", "multinomial+features", "complement+features")
        rows += [("sklearn", kind, args.sklearn_python, sklearn_kb) for kind in kinds]
    else:
        print(f"scikit-learn skipped: not importable with {args.sklearn_python} (see this script's docstring)")
    header = f"{'engine':<33} {'install':>9} {'import':>8} {'peak RSS':>9} {'added':>8} {'learn/sample':>13} {'score/sample':>13} {'model':>9}"
    print(header)
    results = []
    for engine, kind, python, install_kb in rows:
        result = run_worker(python, engine, kind, args.folds)
        result["import_s"] = import_seconds(python, engine)
        results.append((engine, kind, result))
        print(
            f"{engine + ' ' + kind:<33} {_size(install_kb):>9} {result['import_s'] * 1000:>6.0f}ms "
            f"{result['rss_kb'] / 1024:>7.1f}MB {result['rss_added_kb'] / 1024:>6.1f}MB "
            f"{result['learn_s'] * 1e6:>11.0f}µs {result['score_s'] * 1e6:>11.0f}µs {result['model_bytes'] / 1024:>7.1f}KB"
        )
    print("\ncross-validated, per class (right/labelled):")
    for engine, kind, result in results:
        print(f"  {engine + ' ' + kind + ', argmax':<48} {figures(result['argmax'])}")
        if "rule" in result:
            print(f"  {engine + ' ' + kind + ', decide() rule':<48} {figures(result['rule'])}")
    growth = run_worker(sys.executable, "growth", "complement", args.folds)
    sizes = {int(n): size for n, size in growth["sizes"].items()}
    listed = ", ".join(f"{n}: {size / 1024:.1f} KB" for n, size in sizes.items())
    last = max(sizes)
    print(f"\nformguard's model (to_bytes) after n samples: {listed} ({growth['entries']} counters in use)")
    if last < 300:
        # Past the corpus, at the corpus's own bytes per sample: an upper estimate, as
        # n-grams repeat more the more messages there are.
        print(
            f"300 samples at {sizes[last] / last:.0f} bytes per sample: about {sizes[last] / last * 300 / 1024:.0f} KB"
        )


if __name__ == "__main__":
    main()
