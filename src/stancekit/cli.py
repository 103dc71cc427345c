"""The `stancekit` command: a thin click layer over the library.

Heavy modules (scikit-learn, datasets, matplotlib) are imported inside the commands
that need them, so `stancekit predict` starts fast.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import click

from .errors import OutputError, ServiceError, StancekitError
from .read import SOURCE_FORMATS
from .streaming import INPUT_FORMATS

if TYPE_CHECKING:
    from .config import Config

set_option = click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
                          help="Override one config setting (repeatable).")
root_option = click.option("--root", default=None, metavar="DIR",
                           help="Artifact root for model names (default: $STANCEKIT_ARTIFACTS "
                                "or ./artifacts).")


def _err(msg: str) -> None:
    click.echo(f"stancekit: error: {msg}", err=True)


def _stdout() -> Any:
    """Standard output, or OutputError when it is closed (`stancekit ... >&-`)."""
    if sys.stdout is None or sys.stdout.closed:
        raise OutputError("standard output is closed: nothing could be written (redirect it "
                          "to a file, or use --output where the command has it)")
    return sys.stdout


def _out(text: str) -> None:
    """Print a result line on standard output."""
    click.echo(text, file=_stdout())


def _skipped(counts: Any) -> None:
    """Say on stderr which records were skipped (on_error: skip), by reason."""
    if counts:
        click.echo(f"skipped {sum(counts.values())} records: "
                   + ", ".join(f"{k} {v}" for k, v in counts.items()), err=True)


def _root(root: str | None) -> str:
    import os
    return root or os.environ.get("STANCEKIT_ARTIFACTS", "artifacts")


def _progress(desc: str, unit: str = " articles") -> Callable[[Iterable], Iterable]:
    """A progress bar on stderr (shown only on a terminal)."""
    def wrap(items: Iterable) -> Iterable:
        from tqdm import tqdm
        return tqdm(items, desc=desc, unit=unit, file=sys.stderr, leave=False, disable=None)
    return wrap


class StancekitGroup(click.Group):
    """The command group; maps library errors to one-line messages and exit codes here,
    so the console script and click's `CliRunner` behave the same."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # one line, like every other error
            name = exc.ctx.command_path if exc.ctx else "stancekit"
            _err(f"{exc.format_message()} (see '{name} --help')")
            raise click.exceptions.Exit(exc.exit_code) from None
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except StancekitError as exc:
            _err(str(exc))
            raise click.exceptions.Exit(2) from None
        except KeyboardInterrupt:
            _err("interrupted")
            raise click.exceptions.Exit(130) from None
        except BrokenPipeError:
            raise
        except OSError as exc:
            _err(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}".lstrip(": "))
            raise click.exceptions.Exit(2) from None
        except Exception as exc:  # a bug: one line for users, the traceback with STANCEKIT_DEBUG=1
            import os
            if os.environ.get("STANCEKIT_DEBUG"):
                raise
            _err(f"internal error: {exc.__class__.__name__}: {exc} (rerun with STANCEKIT_DEBUG=1 "
                 "for the traceback, and please report it)")
            raise click.exceptions.Exit(3) from None


def source_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """How --articles sources and --input files are read (predict and suggest)."""
    for option in reversed((
            click.option("--input-format", type=click.Choice(["auto", *INPUT_FORMATS]),
                         default="auto", show_default=True,
                         help="Format of --input (auto: by suffix)."),
            click.option("--source-format", type=click.Choice(SOURCE_FORMATS), default="auto",
                         show_default=True,
                         help="Format of --articles sources (auto: by suffix or content)."),
            click.option("--id-field", default="id", show_default=True,
                         help="Article id field (--articles)."),
            click.option("--title-field", default="title", show_default=True,
                         help="Headline field (--articles); '' for none."),
            click.option("--text-field", default="text", show_default=True,
                         help="Text field of article records or input rows."),
            click.option("--on-error", type=click.Choice(["raise", "skip"]), default=None,
                         help="An unreadable article record: stop (raise) or count and skip "
                              "it (default: the model's data.on_error)."))):
        f = option(f)
    return f


@click.group(cls=StancekitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stancekit")
def cli() -> None:
    """Train and run sentence classifiers for news articles."""


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
@click.option("--output", "output", default=None, type=click.Path(file_okay=False),
              help="Dataset directory (default: <output.dir>/datasets/<name>-<fingerprint>).")
def build(config: str, overrides: tuple[str, ...], output: str | None) -> None:
    """Build the labelled sentence dataset a CONFIG describes."""
    from .dataset_io import card, save_dataset
    from .config import load_config
    from .dataset import build_dataset
    cfg = load_config(config, overrides)
    ds = build_dataset(cfg, _progress("reading"), allow_unlabelled=True)
    out = Path(output) if output else cfg.resolve(cfg.output.dir) / "datasets" / \
        f"{cfg.output.name}-{ds.fingerprint[:12]}"
    save_dataset(ds, out)
    c = card(ds)
    for split, s in c["splits"].items():
        click.echo(f"{split:<10} {s['articles']:>5} articles {s['sentences']:>7} sentences  " +
                   " ".join(f"{l}={n}" for l, n in s["labels"].items()), err=True)
    cl = c["cleaning"]
    click.echo(f"cleaning dropped {cl['total']} lines: " +
               (", ".join(f"{k} {v}" for k, v in cl["dropped"].items()) or "none"), err=True)
    if c["reading"]["total"]:
        click.echo(f"skipped {c['reading']['total']} records: {c['reading']['skipped']}", err=True)
    _out(str(out))


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False), required=False)
@set_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--check-repro", "repro", default=None, metavar="ARTIFACT",
              help="Retrain from ARTIFACT's stored config and report any difference.")
@click.option("--cv", "cv", is_flag=True,
              help="Cross-validate CONFIG by story (split.folds folds) instead of writing an "
                   "artifact.")
@click.option("--seeds", default=None, metavar="N,N,...",
              help="With --cv: split seeds to repeat the CV over (default: the config's seed).")
def train(config: str | None, overrides: tuple[str, ...], as_json: bool, repro: str | None,
          cv: bool, seeds: str | None) -> None:
    """Train a model from CONFIG and write a new artifact version (--cv: cross-validate it)."""
    from .config import load_config
    from .runtime.artifact import resolve
    from .training import check_repro, train as run
    log = (lambda m: click.echo(m, err=True))
    if seeds is not None and not cv:
        raise click.UsageError("--seeds needs --cv")
    if cv and repro:
        raise click.UsageError("--cv and --check-repro do not go together")
    if repro:
        path = resolve(repro, _root(None))
        diffs = check_repro(path, log)
        if diffs:
            for d in diffs:
                _out(f"differs: {d}")
            raise SystemExit(1)
        _out(f"reproduced: {path} (weights, features and thresholds identical)")
        return
    if not config:
        raise click.UsageError("CONFIG is required (or --check-repro ARTIFACT)")
    cfg = load_config(config, overrides)
    if cv:
        seed_list = _seed_list(seeds)
        with _recorded(cfg, "train --cv") as rec:
            _cross_validate(cfg, seed_list, as_json, log, rec)
        return
    from .runtime.artifact import check_writable
    check_writable(cfg.resolve(cfg.output.dir), cfg.output.name)  # fail before logging a run
    with _recorded(cfg, "train") as rec:
        result = run(cfg, log, _progress("weak labels"))
        rec.update(dataset_fingerprint=result.dataset.fingerprint if result.dataset else None,
                   metrics=result.metrics, timings=result.timings, artifact=str(result.path),
                   artifact_version=result.version, model=result.name)
    if as_json:
        _out(json.dumps({"artifact": str(result.path), "name": result.name,
                               "version": result.version, "metrics": result.metrics}))
        return
    from .cards import metrics_table
    assert result.model is not None  # train() always returns the model it wrote
    for split, m in result.metrics.items():
        note = " (model fitted on train alone, before the refit)" if cfg.split.refit and \
            split == "validation" else ""
        click.echo(f"\n{split}{note}:\n" + metrics_table(m, result.model.labels), err=True)
    click.echo("\ntimings: " + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()),
               err=True)
    _out(str(result.path))


def _seed_list(text: str | None) -> tuple[int, ...]:
    """Parse `--seeds 13,14,15`."""
    if text is None:
        return ()
    shown = text if len(text) <= 60 else text[:57] + "..."
    try:
        seeds = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected integers separated by commas, got {shown!r}",
                                 param_hint="--seeds") from None
    if len(set(seeds)) != len(seeds):
        raise click.BadParameter(f"repeats a seed: {shown!r}", param_hint="--seeds")
    return seeds


def _recorded(cfg: Config, command: str) -> Any:
    """The run log record of a run of `cfg` (under its output directory)."""
    from . import runs
    ctx = click.get_current_context()
    tracking = cfg.tracking.mlflow
    rec = runs.record(cfg.resolve(cfg.output.dir), command, dict(ctx.params), cfg.base_dir,
                      (tracking.uri, tracking.experiment) if tracking.uri else None)
    return _with_config(rec, cfg)


@contextlib.contextmanager
def _with_config(rec: Any, cfg: Config) -> Iterator[Any]:
    from . import runs
    with rec as run:
        conf = cfg.to_dict()
        run.update(config_name=cfg.output.name, config=conf, config_hash=runs.config_hash(conf),
                   seed=cfg.seed, model=cfg.output.name)
        yield run


def _cross_validate(cfg: Config, seeds: tuple[int, ...], as_json: bool,
                    log: Callable[[str], None], rec: Any) -> None:
    """`train --cv`: pooled out-of-fold metrics per split seed, and their mean."""
    from .cards import metrics_table
    from .training import cross_validate
    result = cross_validate(cfg, seeds, log, _progress("weak labels"))
    rec.update(metrics=result)
    if as_json:
        _out(json.dumps(result))
        return
    for seed, m in result["seeds"].items():
        _out(f"\nsplit seed {seed}: {result['folds']}-fold CV by story, {m['sentences']} "
                   f"sentences, {m['stories']} stories\n" + metrics_table(m, result["labels"]))
    if len(result["seeds"]) > 1:
        mean = result["mean"]
        _out(f"\nmean over {len(result['seeds'])} split seeds: macro-F1 "
                   f"{mean['macro_f1']:.3f} (" +
                   ", ".join(f"{lab} {f:.3f}" for lab, f in mean["f1"].items()) + ")")


@cli.command()
@click.argument("model")
@click.argument("data", type=click.Path(exists=False))
@click.option("--split", default="test", show_default=True, help="Split of a built dataset.")
@click.option("--output", default=None, type=click.Path(file_okay=False),
              help="Directory for metrics.json, report.md, errors.jsonl and plots.")
@click.option("--json", "as_json", is_flag=True, help="Print metrics.json on stdout.")
@click.option("--against", default=None, metavar="OTHER_MODEL", help="Compare with another model.")
@click.option("--fail-if-worse", is_flag=True, help="Exit 1 if any label is significantly worse.")
@click.option("--bootstrap", "n_boot", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Bootstrap samples.")
@click.option("--seed", default=0, show_default=True)
@root_option
def evaluate(model: str, data: str, split: str, output: str | None, as_json: bool,
             against: str | None, fail_if_worse: bool, n_boot: int, seed: int,
             root: str | None) -> None:
    """Score MODEL on DATA (a built dataset or a sentence JSONL) with intervals."""
    from .evaluation import evaluate as run, read_eval_data, write_reports
    from .runtime import load
    from . import runs
    m = load(model, _root(root))
    other = load(against, _root(root)) if against else None
    ed = read_eval_data(Path(data), m.labels, split)
    mconf = _model_config(m)
    tracking = (mconf.get("tracking") or {}).get("mlflow") or {}
    log_root = Path(_root(root)) if m.path is None or not m.path.parent.parent.is_dir() \
        else m.path.parent.parent
    with runs.record(log_root, "evaluate", dict(click.get_current_context().params), ".",
                     (tracking["uri"], tracking.get("experiment") or "stancekit")
                     if tracking.get("uri") else None) as rec:
        rec.update(model=m.metadata.get("name"), config_name=m.metadata.get("name"),
                   config=mconf, config_hash=runs.config_hash(mconf), artifact=str(m.path),
                   artifact_version=m.metadata.get("version"),
                   dataset_fingerprint=runs.data_fingerprint(ed.records))
        result = run(m, ed, other, n_boot, seed)
        rec.update(metrics={k: v for k, v in result.items() if k in (
            "at_thresholds", "at_0.5", "intervals", "average_precision", "data", "against")},
            eval_data=runs.eval_record(ed.Y, result["_pred"], [r["story"] for r in ed.records],
                                       m.labels, runs.data_fingerprint(ed.records)))
        if output:
            write_reports(result, m, ed, Path(output))
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    if as_json:
        _out(json.dumps(public, sort_keys=True))
    else:
        from .cards import metrics_table
        iv = result["intervals"]["macro_f1"]
        _out(metrics_table(result["at_thresholds"], m.labels))
        _out(f"macro-F1 95% CI (story bootstrap): {iv['low']:.3f}-{iv['high']:.3f}")
        if other is not None:
            for k, d in result["against"]["difference"].items():
                _out(f"{k:<16} {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}] "
                           f"{d['verdict']}")
    if fail_if_worse and other is not None and any(
            d["verdict"] == "worse" for k, d in result["against"]["difference"].items()
            if k.startswith("f1/")):
        _err("at least one label is significantly worse than --against")
        raise SystemExit(1)


@cli.command()
@click.argument("model")
@click.argument("texts", nargs=-1)
@click.option("--input", "input_path", default=None, metavar="FILE|-",
              help="Sentences: JSONL with a text field, CSV with a text column, or one a line. "
                   "Rows with article_id and index are read with their article's context.")
@click.option("--article", "article", default=None, type=click.Path(dir_okay=False),
              help="A raw article file (text or HTML), cleaned and segmented as the builder does.")
@click.option("--articles", "articles", is_flag=True,
              help="The arguments are article sources: files, directories, globs or URLs "
                   "(txt, html, jsonl, csv, json, parquet).")
@source_options
@click.option("--output", default="-", metavar="FILE",
              help="Where to write (default stdout); .parquet writes parquet.")
@click.option("--text-output", default=None, metavar="FILE",
              help="Also write each article's text (what start/end point into) as JSONL.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "table", "html", "parquet"]),
              default="jsonl", show_default=True,
              help="Output format. html: with --article a page (--output FILE), with --articles "
                   "a page per article and index.html (--output DIR). parquet: Dask parts; a "
                   "single file is parquet when --output ends in .parquet.")
@click.option("--explain", is_flag=True, help="Add the n-grams behind each predicted label.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(min=1),
              help="Processes for large --input files.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="With --articles and --output DIR: run on a Dask cluster (tcp://host:port, "
                   "or local:N for N local worker processes; needs the dask extra).")
@click.option("--partition-mb", default=64, show_default=True, type=click.IntRange(1, 1 << 20),
              help="With --scheduler: JSONL files larger than this are split into blocks.")
@click.option("--batch-size", default=4096, show_default=True, type=click.IntRange(min=1))
@root_option
def predict(model: str, texts: tuple[str, ...], input_path: str | None, input_format: str,
            article: str | None, articles: bool, source_format: str, id_field: str,
            title_field: str, text_field: str, on_error: str | None, output: str,
            text_output: str | None, fmt: str, explain: bool, jobs: int, scheduler: str | None,
            partition_mb: int, batch_size: int, root: str | None) -> None:
    """Label sentences: TEXT arguments, an --input file, a raw --article, or (--articles)
    every sentence of the article collections given as arguments."""
    import contextlib
    from .read import Article, ReadReport
    from .runtime import load
    from .streaming import (input_format as detect, input_rows, model_articles, model_on_error,
                            predict_articles, predict_rows, read_article_file, row_sink, sources,
                            text_sink)
    chosen = sum(map(bool, (input_path, article, articles)))
    if chosen > 1 or (not texts and not (input_path or article)) or \
            (texts and (input_path or article)):
        raise click.UsageError("give TEXT arguments, --input FILE (or - for stdin), --article "
                               "FILE, or --articles SOURCE...")
    if text_output and not (articles or article):
        raise click.UsageError("--text-output goes with --article or --articles")
    if scheduler and not (articles and output != "-"):
        raise click.UsageError("--scheduler runs --articles SOURCE... into --output DIR")
    if fmt == "parquet" and not scheduler and not output.lower().endswith(".parquet"):
        raise click.UsageError("--format parquet is for --scheduler parts; for one file, name "
                               "--output something.parquet")
    if fmt == "html" and not (article or articles):
        raise click.UsageError("--format html shows whole articles: use --article FILE or "
                               "--articles SOURCE...")
    if fmt == "html" and articles and output == "-":
        raise click.UsageError("--format html with --articles writes a directory: give --output DIR")
    m = load(model, _root(root))
    if fmt == "html":
        _html_pages(m, article, texts if articles else (), output, explain, source_format,
                    id_field, title_field, text_field, on_error)
        return
    if scheduler:
        from .dask import connect, predict_to_directory
        with connect(scheduler) as client:
            summary = predict_to_directory(
                m, sources(texts, source_format, id_field, title_field, text_field), output,
                client, "parquet" if fmt == "parquet" else "jsonl", on_error or model_on_error(m),
                explain, log=lambda msg: click.echo(msg, err=True),
                block_bytes=partition_mb << 20)
        click.echo(f"{summary['sentences']} sentences of {summary['articles']} articles in "
                   f"{summary['partitions']} parts", err=True)
        _skipped(summary["skipped"])
        _out(str(output))
        return
    rows: Iterable[dict]
    report = None
    texts_sink = text_sink(text_output) if text_output else contextlib.nullcontext(None)
    with texts_sink as keep_text, row_sink(output, fmt, m.labels, _stdout, explain) as sink:
        if articles or article:
            if articles:
                report = ReadReport()
                found: Iterable[Article] = _progress("predicting", " articles")(model_articles(
                    m, texts, report, on_error, source_format, id_field, title_field, text_field))
            else:
                found = [read_article_file(Path(str(article)))]
            if keep_text is not None:
                found = keep_text(found)
            rows = predict_articles(m, found, explain, batch_size)
        elif input_path:
            source: Iterable[dict] = input_rows(input_path, text_field, input_format)
            if input_path != "-":
                source = _progress("predicting", " lines")(source)
            kind = detect(input_path, input_format)
            field = "text" if kind == "text" else text_field
            rows = predict_rows(m, source, field, explain, jobs, batch_size,
                                "<stdin>" if input_path == "-" else input_path,
                                2 if kind == "csv" else 1)
        else:
            rows = predict_rows(m, ({"text": t} for t in texts), "text", explain, 1, batch_size)
        for batch in _chunked(rows, 1024):
            sink.write(batch)
    if report is not None:
        _skipped(report.skipped)


def _html_pages(m: Any, article: str | None, srcs: tuple[str, ...], output: str, explain: bool,
                source_format: str, id_field: str, title_field: str, text_field: str,
                on_error: str | None) -> None:
    """`predict --format html`: the article view, one page or a directory of them."""
    from .read import ReadReport
    from .streaming import model_articles, read_article_file
    from .views import article_page, write_article_pages
    if article:
        art = read_article_file(Path(article))
        page = article_page(m, art.id, art.text, m.predict_article(art.text, art.id, explain),
                            explain)
        if output == "-":
            _stdout().write(page)
        else:
            from .atomic import write_file
            write_file(output, page)
            _out(output)
        return
    report = ReadReport()
    found = _progress("pages", " articles")(model_articles(
        m, srcs, report, on_error, source_format, id_field, title_field, text_field))
    n = write_article_pages(Path(output), m, ((a.id, a.text, m.predict_article(a.text, a.id, explain))
                                              for a in found), explain)
    click.echo(f"{n} article pages and index.html", err=True)
    _skipped(report.skipped)
    _out(str(Path(output) / "index.html"))


@cli.command()
@click.argument("model")
@click.argument("sources", nargs=-1)
@click.option("--articles", "articles", is_flag=True,
              help="The arguments are article sources (as for predict --articles).")
@click.option("--input", "input_path", default=None, metavar="FILE",
              help="Sentence rows (JSONL or CSV; a built dataset's sentences.jsonl): rows with "
                   "article_id and index are read with their article's context.")
@click.option("--n", "n", required=True, type=click.IntRange(min=1),
              help="How many sentences (or articles) to hand out.")
@click.option("--strategy", type=click.Choice(["uncertainty", "margin", "diverse", "random"]),
              default="uncertainty", show_default=True,
              help="How to choose: the model's uncertainty, the label nearest its threshold, "
                   "uncertainty spread over stories, or at random.")
@click.option("--format", "fmt", type=click.Choice(["label-studio", "doccano", "prodigy", "jsonl"]),
              default="jsonl", show_default=True,
              help="Import format of the annotation tool (label-studio also writes "
                   "label-config.xml beside --output).")
@click.option("--unit", type=click.Choice(["sentence", "article"]), default="sentence",
              show_default=True, help="Hand out sentences, or whole articles with every "
                                      "sentence pre-annotated as a span (needs --articles).")
@click.option("--labelled", "labelled", multiple=True, type=click.Path(dir_okay=False),
              metavar="FILE", help="Never choose what this file names: gold JSONL, a dataset's "
                                   "sentences.jsonl, an earlier suggest output or its export "
                                   "(repeatable).")
@click.option("--focus", "focus", multiple=True, metavar="LABEL",
              help="Measure usefulness on these labels only (repeatable; default all).")
@click.option("--output", required=True, metavar="FILE", help="Where to write the tasks.")
@click.option("--seed", default=0, show_default=True, help="Seed of --strategy random.")
@source_options
@root_option
def suggest(model: str, sources: tuple[str, ...], articles: bool, input_path: str | None,
            n: int, strategy: str, fmt: str, unit: str, labelled: tuple[str, ...],
            focus: tuple[str, ...], output: str, seed: int, input_format: str,
            source_format: str, id_field: str, title_field: str, text_field: str,
            on_error: str | None, root: str | None) -> None:
    """The next sentences worth labelling, pre-annotated with MODEL's labels, in the
    import format of an annotation tool."""
    from .read import ReadReport
    from .runtime import load
    from .streaming import input_rows, model_articles
    from .atomic import check_writable
    from .suggest import Tally, read_labelled, suggest as choose, write_records
    from .runtime.records import with_context
    if articles == bool(input_path) or (input_path and sources) or (articles and not sources):
        raise click.UsageError("give --articles SOURCE... or --input FILE")
    if unit == "article" and not articles:
        raise click.UsageError("--unit article hands out whole articles: use --articles SOURCE...")
    m = load(model, _root(root))
    check_writable(output)  # before the scoring pass, which can take hours on a corpus
    done = read_labelled(Path(p) for p in labelled)
    tally, report = Tally(), ReadReport()
    if articles:
        found = _progress("scoring", " articles")(model_articles(
            m, sources, report, on_error, source_format, id_field, title_field, text_field))
        records = choose(m, n, strategy, fmt, articles=found, unit=unit, seed=seed,
                         labelled=done, tally=tally, focus=focus)
    else:
        rows = with_context(input_rows(str(input_path), text_field, input_format), text_field,
                            input_path)
        if text_field != "text":
            rows = ({**r, "text": r[text_field]} for r in rows)
        records = choose(m, n, strategy, fmt, rows=_progress("scoring", " lines")(rows),
                         seed=seed, labelled=done, tally=tally, focus=focus)
    written = write_records(Path(output), records, fmt, m.labels, unit)
    what = "articles" if unit == "article" else "sentences"
    click.echo(f"{len(records)} {what} chosen by {strategy} from {tally.candidates} "
               f"(left out as labelled: {tally.labelled})", err=True)
    _skipped(report.skipped)
    for path in written:
        _out(str(path))


def _model_config(m: Any) -> dict[str, Any]:
    """The resolved config a model was trained with ({} when it has none)."""
    import yaml
    if m.path is None or not (m.path / "config.yaml").is_file():
        return {}
    data = yaml.safe_load((m.path / "config.yaml").read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _chunked(rows: Iterable[dict], n: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch


@cli.command()
@click.argument("model")
@click.option("--json", "as_json", is_flag=True)
@root_option
def info(model: str, as_json: bool, root: str | None) -> None:
    """Show a model's metadata, metrics, thresholds and verification status."""
    from .runtime.artifact import describe, resolve
    path = resolve(model, _root(root))
    d = describe(path)
    man, problems, meta = d["manifest"], d["problems"], d["metadata"]
    if as_json:
        _out(json.dumps(d, sort_keys=True))
    else:
        _out(f"model      {man['name']} {man['version']}  ({path})")
        _out(f"verified   {'yes' if not problems else 'NO: ' + '; '.join(problems)}")
        _out(f"created    {man.get('created')} by stancekit {man.get('stancekit_version')}")
        if meta:
            _out(f"labels     {', '.join(meta['labels'])}"
                       f"{' (exclusive)' if meta.get('exclusive') else ''}")
            _out("thresholds " + ", ".join(f"{k}={v:.2f}" for k, v in meta["thresholds"].items()))
            view = (meta.get("weights") or {}).get("neighbours_view")
            if view:
                _out(f"neighbours {', '.join(view['labels'])} also read the previous and "
                           "next sentences")
            numbers = (meta.get("weights") or {}).get("numbers")
            if numbers:
                _out(f"numbers    {', '.join(numbers['labels'])} also scored number by number "
                           f"(weight {numbers['weight']:g}, window {numbers['window']})")
            _out(f"dataset    {meta['dataset']['fingerprint'][:16]} "
                       f"({meta['dataset']['sentences']} sentences)")
            for split, mt in meta.get("metrics", {}).items():
                _out(f"{split:<10} macro-F1 {mt['macro_f1']:.3f}  " + "  ".join(
                    f"{l} {v['f1']:.3f}" for l, v in mt["per_label"].items()))
            _out(f"git        {meta.get('git_commit')}")
    if problems:
        raise SystemExit(1)


@cli.command(name="list")
@root_option
def list_(root: str | None) -> None:
    """List the models and versions under the artifact root."""
    from .runtime.artifact import list_artifacts
    for a in list_artifacts(Path(_root(root))):
        _out(f"{a['name']:<24} {' '.join(a['versions'])}")


@cli.group(invoke_without_command=True, cls=StancekitGroup)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run, a line each.")
@click.option("--config", "config_name", default=None, help="Only runs of this config (output.name).")
@click.option("--model", default=None, help="Only runs of this model name.")
@click.option("--command", "command", type=click.Choice(["train", "train --cv", "evaluate"]),
              default=None, help="Only runs of this command.")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only runs started on or after.")
@root_option
@click.pass_context
def runs(ctx: click.Context, as_json: bool, config_name: str | None, model: str | None,
         command: str | None, since: str | None, root: str | None) -> None:
    """The run log: every train, train --cv and evaluate under the artifact root."""
    ctx.obj = Path(_root(root))
    if ctx.invoked_subcommand is not None:
        return
    import datetime as dt
    from . import runs as log
    start = None
    if since:
        try:
            start = dt.datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc).timestamp()
        except ValueError:
            raise click.BadParameter(f"expected YYYY-MM-DD, got {since!r}", param_hint="--since") from None
    rows = log.list_runs(ctx.obj, command, config_name, model, start)
    if as_json:
        for r in rows:
            r.pop("eval_data", None)
            _out(json.dumps(r, sort_keys=True, default=str))
        return
    _out(f"{'run':<13}{'started (UTC)':<18}{'command':<12}{'status':<10}{'model':<24}"
         f"{'macro-F1':>9}  data")
    for r in rows:
        f1 = log._metric_values(r).get("macro_f1")
        started = dt.datetime.fromtimestamp(r["started"], dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
        model_name = f"{r.get('model') or '-'} {r.get('artifact_version') or ''}".strip()
        _out(f"{r['run_id']:<13}{started:<18}{r['command']:<12}{r['status']:<10}"
             f"{model_name[:23]:<24}{(f'{f1:.3f}' if f1 is not None else '-'):>9}  "
             f"{(r.get('dataset_fingerprint') or '-')[:12]}")


@runs.command(name="show")
@click.argument("run_id")
@click.pass_obj
def runs_show(root: Path, run_id: str) -> None:
    """Print one run as JSON (predictions of an evaluation left out)."""
    from . import runs as log
    r = log.get_run(root, run_id)
    r.pop("eval_data", None)
    _out(json.dumps(r, indent=2, sort_keys=True, default=str))


@runs.command(name="diff")
@click.argument("a")
@click.argument("b")
@click.option("--json", "as_json", is_flag=True)
@click.option("--bootstrap", "n_boot", default=1000, show_default=True, type=click.IntRange(min=1))
@click.pass_obj
def runs_diff(root: Path, a: str, b: str, as_json: bool, n_boot: int) -> None:
    """What differs between runs A and B: config keys, data, metrics (B - A), and the paired
    story bootstrap when both evaluated the same data."""
    from . import runs as log
    d = log.diff(log.get_run(root, a), log.get_run(root, b), n_boot)
    if as_json:
        _out(json.dumps(d, indent=2, sort_keys=True, default=str))
        return
    _out(f"A {d['a']}  B {d['b']}")
    fp = d["dataset_fingerprint"]
    _out("data       " + ("same" if fp["a"] == fp["b"] else f"{str(fp['a'])[:12]} -> {str(fp['b'])[:12]}"))
    _out("config     " + ("same" if not d["config"] else f"{len(d['config'])} settings differ"))
    for k, v in d["config"].items():
        _out(f"  {k}: {json.dumps(v['a'], default=str)} -> {json.dumps(v['b'], default=str)}")
    _out("metrics")
    for k, v in d["metrics"].items():
        a_, b_, ch = v["a"], v["b"], v["change"]
        _out(f"  {k:<16} {('-' if a_ is None else f'{a_:.3f}'):>7} -> "
             f"{('-' if b_ is None else f'{b_:.3f}'):>7}  {('' if ch is None else f'{ch:+.3f}')}")
    if d.get("paired"):
        _out("paired story bootstrap (B - A, 95%)")
        for k, v in d["paired"].items():
            _out(f"  {k:<16} {v['difference']:+.3f} [{v['low']:+.3f}, {v['high']:+.3f}] {v['verdict']}")
    elif d.get("paired_note"):
        _out(d["paired_note"])


@cli.command()
@click.argument("model")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@root_option
def serve(model: str, host: str, port: int, root: str | None) -> None:
    """Serve MODEL over HTTP (needs the `serve` extra)."""
    try:
        import uvicorn
        from .serve import create_app
    except ImportError:
        raise click.ClickException("serving needs the extra: pip install 'stancekit[serve]'") from None
    import socket
    from .runtime import load
    app = create_app(load(model, _root(root)))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))  # bound here, so a port in use is a one-line error
    except (OSError, OverflowError) as exc:
        sock.close()
        raise ServiceError(f"cannot listen on {host}:{port} "
                           f"({getattr(exc, 'strerror', None) or exc})") from None
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])


def main() -> None:
    """Entry point of the `stancekit` console script."""
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        _err("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    if isinstance(code, int):
        sys.exit(code)
