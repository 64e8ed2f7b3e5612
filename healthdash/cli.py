"""The `python -m healthdash` command line."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import getpass
import io
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy.exc

from healthdash.clock import AsOfError, resolve_as_of
from healthdash.scoring import FACTOR_KEYS
from healthdash.settings import SettingsError


def main(argv: Sequence[str] | None = None) -> int:
    """Run one healthdash command and return its exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (SettingsError, AsOfError) as exc:
        print(f"healthdash: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"healthdash: {exc}", file=sys.stderr)
        return 1
    except sqlalchemy.exc.OperationalError as exc:
        print(f"healthdash: cannot reach the database: {str(exc.orig).strip()}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a refused change to people or tokens (unknown email, bad role or password)
        print(f"healthdash: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="healthdash", description="Customer health dashboard.")
    commands = parser.add_subparsers(required=True, metavar="command")

    scores = commands.add_parser("scores", help="print every customer's score, tier and factor scores")
    scores.add_argument("--as-of", help="ISO date or timestamp (default: now, UTC)")
    scores.add_argument("--format", choices=("table", "csv", "json"), default="table")
    scores.set_defaults(run=_scores)

    db_url = commands.add_parser("db-url", help="print the URL of the database in use (for psql)")
    db_url.set_defaults(run=_db_url)

    summary = commands.add_parser("summary", help="print the dashboard summary")
    summary.add_argument("--as-of", help="ISO date or timestamp (default: now, UTC)")
    summary.set_defaults(run=_summary)

    serve = commands.add_parser("serve", help="serve the web app and the REST API")
    serve.set_defaults(run=_serve)

    lab = commands.add_parser("lab", help="open JupyterLab on notebooks/ with the kernels pointed at the data")
    lab.add_argument("--port", type=int, default=8888, help="JupyterLab's port on 127.0.0.1 (8888; 0: any free one)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.set_defaults(run=_lab)

    generate = commands.add_parser("generate", help="load a large synthetic data set (the sample data's stories)")
    generate.add_argument("--customers", type=_positive, required=True, help="how many customers")
    generate.add_argument("--days", type=_positive, default=210, help="days of history up to yesterday (210)")
    generate.add_argument("--seed", type=int, default=0, help="the same seed on the same day gives the same data")
    generate.add_argument("--replace", action="store_true", help="delete the data already in the database first")
    generate.set_defaults(run=_generate)

    history = commands.add_parser("history", help="the score history")
    history_commands = history.add_subparsers(required=True, metavar="action")
    backfill = history_commands.add_parser("backfill", help="write the missing closed days of the score history")
    backfill.add_argument("--days", type=_positive, help="days back from yesterday (default: HEALTHDASH_HISTORY_DAYS)")
    backfill.set_defaults(run=_backfill)
    backtest = commands.add_parser("backtest", help="how well the score history foretold churn")
    backtest.add_argument("--horizon", type=_positive, default=90, help="days after a day in which a churn counts (90)")
    backtest.add_argument("--lead", type=int, default=30, help="days ahead a flag must come to count in time (30)")
    backtest.add_argument("--from", dest="first", type=_day, help="first day judged (default: 179 days before --to)")
    backtest.add_argument("--to", dest="last", type=_day, help="last day judged (default: last history day - horizon)")
    backtest.add_argument("--format", choices=("table", "json"), default="table")
    backtest.set_defaults(run=_backtest)

    load = commands.add_parser("import", help="load a CSV file of customers or events, outcomes too (all or nothing)")
    load.add_argument("file", type=Path, help="customers.csv or events.csv (told apart by the header)")
    load.add_argument(
        "--dry-run",
        action="store_true",
        help="load and check every row as an import does, then roll it all back: nothing is stored",
    )
    load.set_defaults(run=_import)
    _people_commands(commands)
    return parser


def _people_commands(commands: Any) -> None:
    roles = ("viewer", "csm", "admin")
    users = commands.add_parser("users", help="the people who may sign in")
    user_commands = users.add_subparsers(required=True, metavar="action")
    add = user_commands.add_parser("add", help="add an account (the password is asked for, or read from stdin)")
    add.add_argument("email")
    add.add_argument("--name", required=True, help="the name shown in the app")
    add.add_argument("--role", choices=roles, default="viewer", help="viewer (default), csm or admin")
    add.add_argument("--no-password", action="store_true", help="no password: signs in by link or proxy only")
    add.set_defaults(run=_users_add)
    user_commands.add_parser("list", help="list the accounts").set_defaults(run=_users_list)
    disable = user_commands.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("email")
    disable.set_defaults(run=_users_disable)
    set_role = user_commands.add_parser("set-role", help="change an account's role")
    set_role.add_argument("email")
    set_role.add_argument("role", choices=roles)
    set_role.set_defaults(run=_users_set_role)
    reset = user_commands.add_parser("reset-password", help="set a new password and end the account's sessions")
    reset.add_argument("email")
    reset.set_defaults(run=_users_reset_password)
    link = user_commands.add_parser("link", help="print a one-time sign-in link for an account")
    link.add_argument("email")
    link.set_defaults(run=_users_link)

    tokens = commands.add_parser("tokens", help="API tokens of people and services")
    token_commands = tokens.add_subparsers(required=True, metavar="action")
    create = token_commands.add_parser("create", help="create a token and print it (once: it is not kept)")
    create.add_argument("--name", required=True, help="what the token is for, e.g. 'CRM sync'")
    create.add_argument("--role", choices=roles, default="viewer", help="a service token's role (default viewer)")
    create.add_argument("--user", help="a person's email: the token acts as them, with their role")
    create.set_defaults(run=_tokens_create)
    token_commands.add_parser("list", help="list the tokens (never their secrets)").set_defaults(run=_tokens_list)
    revoke = token_commands.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id", type=_positive)
    revoke.set_defaults(run=_tokens_revoke)


def _people() -> Any:
    from healthdash.access import Lifetimes, People
    from healthdash.db.database import resolve_database_url
    from healthdash.db.engine import make_engine
    from healthdash.settings import get_settings

    settings = get_settings()
    engine = make_engine(resolve_database_url(settings.database_url, settings.data_dir), pool_size=1)
    return People(engine, Lifetimes(settings.session_hours * 3600, settings.session_idle_minutes * 60))


def _operator() -> str:
    """How the audit log names whoever runs a command: the command line and the system account."""
    return f"command line ({getpass.getuser()})"


def _new_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise RuntimeError("the two passwords differ")
    return first


def _users_add(args: argparse.Namespace) -> int:
    password = None if args.no_password else _new_password()
    _people().add_user(args.email, args.name, args.role, password, _operator())
    print(f"added {args.email} ({args.role})")
    return 0


def _users_list(args: argparse.Namespace) -> int:
    rows = [
        [u["email"], u["name"], u["role"], "disabled" if u["disabled"] else "active", f"{u['created_at']:%Y-%m-%d}"]
        for u in _people().users()
    ]
    print(_columns(["email", "name", "role", "status", "created"], rows), end="")
    return 0


def _users_disable(args: argparse.Namespace) -> int:
    _people().disable(args.email, _operator())
    print(f"disabled {args.email}; its sessions are ended")
    return 0


def _users_set_role(args: argparse.Namespace) -> int:
    _people().set_role(args.email, args.role, _operator())
    print(f"{args.email} is now {args.role}")
    return 0


def _users_reset_password(args: argparse.Namespace) -> int:
    _people().reset_password(args.email, _new_password(), _operator())
    print(f"new password set for {args.email}; its sessions are ended")
    return 0


def _users_link(args: argparse.Namespace) -> int:
    from healthdash.app import api_url
    from healthdash.settings import get_settings

    print(_people().sign_in_link(args.email, api_url(get_settings()), _operator()))
    return 0


def _tokens_create(args: argparse.Namespace) -> int:
    token_id, secret = _people().create_token(args.name, args.role, args.user, _operator())
    print(f"token {token_id} ({args.name}); shown this once, keep it now:", file=sys.stderr)
    print(secret)
    return 0


def _tokens_list(args: argparse.Namespace) -> int:
    def when(moment: Any) -> str:
        return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"

    rows = [
        [str(t["id"]), t["name"], t["role"], t["user_email"] or "(service)", when(t["created_at"]),
         when(t["last_used_at"]), "revoked" if t["revoked_at"] else "live"]
        for t in _people().tokens()
    ]  # fmt: skip
    print(_columns(["id", "name", "role", "user", "created", "last used", "status"], rows), end="")
    return 0


def _tokens_revoke(args: argparse.Namespace) -> int:
    _people().revoke_token(args.id, _operator())
    print(f"token {args.id} revoked")
    return 0


def _columns(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in [header, *rows]]
    return "\n".join(lines) + "\n"


def _import(args: argparse.Namespace) -> int:
    from healthdash.csv_import import BadRow
    from healthdash.db.database import resolve_database_url
    from healthdash.db.engine import make_engine
    from healthdash.db.imports import import_csv
    from healthdash.settings import get_settings

    if not args.file.is_file():
        raise RuntimeError(f"no such file: {args.file}")
    settings = get_settings()
    engine = make_engine(resolve_database_url(settings.database_url, settings.data_dir), pool_size=1)
    try:
        began = time.perf_counter()
        done = import_csv(engine, args.file, keep=not args.dry_run)
        seconds = time.perf_counter() - began
    except BadRow as exc:
        print(f"healthdash: {args.file}: {exc}; nothing was stored", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    rate = f"{done.rows / seconds:,.0f} rows/s" if seconds > 0 else "at once"
    if args.dry_run:
        print(f"checked {done.rows:,} {done.kind} from {args.file} in {seconds:.1f} s ({rate}); nothing was stored")
    else:
        print(f"imported {done.rows:,} {done.kind} from {args.file} in {seconds:.1f} s ({rate})")
    return 0


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date such as 2026-11-01: {text!r}") from None


def _backtest(args: argparse.Namespace) -> int:
    from healthdash.db.database import resolve_database_url
    from healthdash.db.engine import make_engine
    from healthdash.service import HealthService
    from healthdash.settings import get_settings

    if not 0 <= args.lead <= args.horizon:
        raise RuntimeError(f"--lead must be from 0 to the horizon ({args.horizon} days), got {args.lead}")
    if args.first and args.last and args.first > args.last:
        raise RuntimeError(f"--from ({args.first}) is after --to ({args.last})")
    settings = get_settings()
    engine = make_engine(resolve_database_url(settings.database_url, settings.data_dir), pool_size=1)
    try:
        report = HealthService(engine, settings.scoring).backtest_report(args.first, args.last, args.horizon, args.lead)
    finally:
        engine.dispose()
    if args.format == "json":
        print(json.dumps(report, indent=2, default=str))
    else:
        print(format_backtest(report), end="")
    return 0


def format_backtest(report: dict[str, Any]) -> str:
    """Return a backtest as a short text report: the headline figures, the confusion table and the bands."""
    f = report["figures"]
    c = f["confusion"]
    suggested = report.get("suggested")

    def share(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f} %"

    def number(value: float | None, digits: int = 2) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = [
        f"Backtest {report['from']} to {report['to']}: horizon {report['horizon']} days, lead {report['lead']} days",
        f"customer-days judged   {f['observations']:,}",
        f"precision              {share(f['precision'])}   (ARR-weighted {share(f['arr_precision'])})",
        f"recall                 {share(f['recall'])}   (ARR-weighted {share(f['arr_recall'])})",
        f"base churn rate        {share(f['base_rate'])}",
        f"lift                   {number(f['lift'])}",
        f"ROC AUC of the score   {number(f['auc'], 3)}",
        f"churners               {f['churners']:,}, flagged {report['lead']}+ days ahead: "
        f"{f['churners_flagged_ahead']:,} ({share(f['share_flagged_ahead'])})",
        f"churned ARR flagged {report['lead']}+ days ahead: {share(f['arr_share_flagged_ahead'])}",
        f"median lead (days)     {number(f['median_lead_days'], 1)}",
        "",
        "               churned   stayed",
        f"flagged     {c['true_positives']:>10,} {c['false_positives']:>8,}",
        f"not flagged {c['false_negatives']:>10,} {c['true_negatives']:>8,}",
        "",
        "score band   customer-days   churn rate",
        *(
            f"{b['low']:>3}-{b['high']:<3}     {b['customers_days']:>13,}   {share(b['churn_rate']):>10}"
            for b in f["calibration"]
        ),
        "",
        "factor               AUC alone   weight now   suggested",
        *(
            f"{key:<20} {number(auc, 3):>9}   {report['current_weights'][key]:>10g}   "
            f"{suggested['weights'][key] if suggested else '-':>9}"
            for key, auc in f["factor_auc"].items()
        ),
    ]
    if suggested:
        now, then = suggested["current"], suggested["suggested"]
        lines += [
            "",
            f"on the last third of the range ({suggested['held_out']:,} customer-days, not fitted on):",
            f"  AUC now {number(now['auc'], 3)}, suggested {number(then['auc'], 3)}; "
            f"recall now {share(now['recall'])}, suggested {share(then['recall'])}",
            "  (suggested weights are never applied by themselves: try them in Explore)",
        ]
    return "\n".join(lines) + "\n"


def _backfill(args: argparse.Namespace) -> int:
    from healthdash.db.database import resolve_database_url
    from healthdash.db.engine import make_engine
    from healthdash.score_history.backfill import backfill
    from healthdash.settings import get_settings

    settings = get_settings()
    url = resolve_database_url(settings.database_url, settings.data_dir)
    engine = make_engine(url, pool_size=1, connect_timeout=settings.db_connect_timeout)
    try:
        written = backfill(engine, settings.scoring, args.days or settings.history_days)
    finally:
        engine.dispose()
    print(f"score history: {written} days written")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _generate(args: argparse.Namespace) -> int:
    from healthdash.db.database import resolve_database_url
    from healthdash.db.generator import generate
    from healthdash.settings import get_settings

    settings = get_settings()
    url = resolve_database_url(settings.database_url, settings.data_dir)
    generate(url, args.customers, args.days, args.seed, replace=args.replace)
    return 0


def _score_frame(as_of: dt.datetime) -> pd.DataFrame:
    """Return every customer's scores as the service computes them, over the configured database."""
    from healthdash.db.database import resolve_database_url
    from healthdash.db.engine import make_engine
    from healthdash.service import HealthService
    from healthdash.settings import get_settings

    settings = get_settings()
    engine = make_engine(resolve_database_url(settings.database_url, settings.data_dir), pool_size=1)
    try:
        return HealthService(engine, settings.scoring).score_frame(as_of)
    finally:
        engine.dispose()


def _scores(args: argparse.Namespace) -> int:
    table = _score_frame(resolve_as_of(args.as_of))
    records = scores_records(table)
    if args.format == "json":
        print(json.dumps(records, indent=2, ensure_ascii=False))
    elif args.format == "csv":
        print(_csv(records), end="")
    else:
        print(_table(records), end="")
    return 0


def scores_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the score table as JSON-ready records with a `factors` mapping."""
    records = []
    for customer_id, row in table.iterrows():
        records.append(
            {
                "id": int(customer_id),
                "name": row["name"],
                "segment": row["segment"],
                "plan": row["plan"],
                "score": _maybe(row["score"]),
                "tier": row["tier"],
                "coverage": round(float(row["coverage"]), 4),
                "factors": {key: _maybe(row[key], 1) for key in FACTOR_KEYS},
            }
        )
    return records


def _csv(records: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "name", "segment", "plan", "score", "tier", "coverage", *FACTOR_KEYS])
    for r in records:
        factors = ["" if r["factors"][k] is None else r["factors"][k] for k in FACTOR_KEYS]
        score = "" if r["score"] is None else r["score"]
        writer.writerow([r["id"], r["name"], r["segment"], r["plan"], score, r["tier"], r["coverage"], *factors])
    return out.getvalue()


def _table(records: list[dict[str, Any]]) -> str:
    header = ["id", "name", "segment", "plan", "score", "tier", "coverage", *FACTOR_KEYS]
    rows = [
        [
            str(r["id"]),
            r["name"],
            r["segment"],
            r["plan"],
            _fmt(r["score"]),
            r["tier"],
            f"{r['coverage']:.0%}",
            *(_fmt(r["factors"][k]) for k in FACTOR_KEYS),
        ]
        for r in records
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines) + "\n"


def _db_url(args: argparse.Namespace) -> int:
    from healthdash.db.database import describe_url, resolve_database_url
    from healthdash.settings import get_settings

    settings = get_settings()
    print(describe_url(resolve_database_url(settings.database_url, settings.data_dir)))
    return 0


def _summary(args: argparse.Namespace) -> int:
    from healthdash.summary import dashboard_summary

    as_of = resolve_as_of(args.as_of)
    print(format_summary(dashboard_summary(_score_frame(as_of), as_of)), end="")
    return 0


def format_summary(summary: dict[str, Any]) -> str:
    """Render the dashboard summary as text for a terminal."""
    tiers = summary["tiers"]
    lines = [
        f"Customer health as of {summary['as_of']:%Y-%m-%d %H:%M} UTC",
        f"  customers      {summary['customer_count']}",
        f"  average score  {_fmt(summary['average_score'])}",
        "  tiers          " + ", ".join(f"{k} {v}" for k, v in tiers.items()),
        "  most at risk:",
    ]
    for c in summary["top_at_risk"]:
        reason = (c["main_reason"] or "-").replace("_", " ")
        lines.append(f"    {c['score']:5.1f}  {c['tier']:<9} {c['name']}  (main reason: {reason})")
    return "\n".join(lines) + "\n"


def _lab(args: argparse.Namespace) -> int:
    from healthdash.lab import run_lab
    from healthdash.settings import get_settings

    return run_lab(get_settings(), args.port, open_browser=not args.no_browser)


def _serve(args: argparse.Namespace) -> int:
    from healthdash.app import serve

    serve()
    return 0


def _maybe(value: Any, digits: int = 1) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), digits)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
