"""`tequio`: serve, worker, migrate, demo, create-admin."""

import argparse
import asyncio
import contextlib
import getpass
import logging
import sys
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app import logs
from app.settings import Settings

if TYPE_CHECKING:
    from app.demo import DemoPerson
    from cooperative.bylaws.schema import Bylaws


def _settings() -> Settings:
    try:
        settings = Settings()
        settings.start_clock()
        return settings
    except ValidationError as exc:
        for error in exc.errors():
            print(f"configuration error: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from exc


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app import running

    settings = _settings()
    logs.configure(settings.log_level, as_json=settings.log_json)
    host, port = args.host or settings.host, args.port or settings.port
    workers = args.workers or settings.workers
    if workers > 1 and settings.rate_limit_enabled and not settings.redis_url:
        logging.getLogger("tequio.ratelimits").warning(
            "rate limits: %d workers without TEQUIO_REDIS_URL each count on their own, so a "
            "caller may get up to %d times its quota; set TEQUIO_REDIS_URL to share one count",
            workers,
            workers,
        )
    if settings.environment != "production":  # for `tequio demo-consult` in another terminal
        running.announce(host, port, settings.database_url)
    try:
        uvicorn.run(
            "app.asgi:app",
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            access_log=False,
            log_config=None,
            server_header=False,
        )
    finally:
        running.withdraw()


def migrate(args: argparse.Namespace) -> None:
    from app import migrate as migrations

    settings = _settings()
    if args.downgrade:
        migrations.downgrade(settings.database_url, args.downgrade)
    else:
        migrations.upgrade(settings.database_url, args.revision)
    print(f"database migrated ({args.downgrade or args.revision})")


def demo(args: argparse.Namespace) -> None:
    settings = _settings()
    if settings.environment == "production":
        print("refusing to seed demo logins in production", file=sys.stderr)
        raise SystemExit(2)
    if not settings.demo_data and args.if_empty:
        return
    asyncio.run(_demo(settings, if_empty=args.if_empty))


async def _demo(settings: Settings, *, if_empty: bool) -> None:
    from app import demo as demo_data
    from app.db import create_engine, create_sessionmaker
    from app.main import password_hasher

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            if if_empty and await demo_data.has_accounts(session):
                present = await demo_data.present(session)
                print("demo data: the database already has accounts; nothing seeded")
                if present:
                    _print_logins([(person, False) for person in present])
                return
            results = await demo_data.seed(
                session, hasher=password_hasher(settings), settings=settings
            )
            await session.commit()
    finally:
        await engine.dispose()
    _print_logins(results)


def _print_logins(results: "Sequence[tuple[DemoPerson, bool]]") -> None:
    from app.demo import DEMO_PASSWORD

    print(f"Demo cooperative — every demo login's password is: {DEMO_PASSWORD}")
    for person, created in results:
        login = person.email or person.phone
        state = "created" if created else "exists"
        print(
            f"  {person.role.value:<13} {login:<36} {person.display_name} — {person.note} [{state}]"
        )


def demo_consult(args: argparse.Namespace) -> None:
    settings = _settings()
    if settings.environment == "production":
        print("refusing to make demo consults in production", file=sys.stderr)
        raise SystemExit(2)
    asyncio.run(_demo_consult(settings, args.minutes))


async def _demo_consult(settings: Settings, minutes: int) -> None:
    from app import demo as demo_data
    from app import running
    from app.db import create_engine, create_sessionmaker

    server = running.running()
    base = f"http://{settings.host}:{settings.port}"
    if server is not None:  # the server in the other terminal: its database and its address
        settings = settings.model_copy(update={"database_url": server.database_url})
        base = server.base_url
    else:
        print(
            "no running `tequio serve` (or `make run`) found: using this folder's settings",
            file=sys.stderr,
        )
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            try:
                appointment = await demo_data.consult_soon(session, minutes=minutes)
            except LookupError as exc:
                print(exc, file=sys.stderr)
                raise SystemExit(2) from exc
            await session.commit()
    finally:
        await engine.dispose()
    page = f"{base}/consult/{appointment.id}"
    print(f"A demo consult starts at {appointment.start:%H:%M} UTC; its room is open now.")
    print(f"  Dra. Ana López (doctor): {page}   sign in as ana.lopez@demo.tequio.coop")
    print(f"  Rosa Martínez (patient): {page}   sign in as +52 951 100 0002")
    print(f"  (use two browsers or profiles; every demo password is {demo_data.DEMO_PASSWORD})")


def create_admin(args: argparse.Namespace) -> None:
    settings = _settings()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("passwords differ", file=sys.stderr)
            raise SystemExit(2)
    asyncio.run(_create_admin(settings, args, password))


async def _create_admin(settings: Settings, args: argparse.Namespace, password: str) -> None:
    from app.db import create_engine, create_sessionmaker
    from app.main import password_hasher
    from cooperative.accounts import roles
    from cooperative.accounts import service as accounts_service
    from cooperative.accounts.schemas import AccountCreate
    from cooperative.kernel.errors import TequioError
    from cooperative.kernel.principal import Role

    try:
        data = AccountCreate(
            email=args.email, phone=args.phone, password=password, display_name=args.name
        )
    except ValidationError as exc:
        for error in exc.errors():
            print(f"{'.'.join(map(str, error['loc']))}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from exc
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            existing = await accounts_service.find_by_identifier(
                session, data.email or data.phone or ""
            )
            if existing is not None:
                account = existing
                print(f"the existing account {account.id}")
            else:
                try:
                    account = await accounts_service.register(
                        session,
                        data,
                        hasher=password_hasher(settings),
                        min_password_length=settings.password_min_length,
                    )
                except TequioError as exc:
                    print(str(exc), file=sys.stderr)
                    raise SystemExit(2) from exc
                print(f"created the account {account.id}")
            if Role.ADMIN.value in account.roles:
                print("it is already an admin")
            else:
                await roles.grant(
                    session, account.id, Role.ADMIN, reason="tequio create-admin", by=None
                )
                print("granted admin (recorded in its role history)")
            await session.commit()
    finally:
        await engine.dispose()


def roles_command(args: argparse.Namespace) -> None:
    """`tequio roles grant|revoke|list CONTACT …`: what an admin does through the API, for the
    operator of a new cooperative (or one whose admins are locked out)."""
    settings = _settings()
    asyncio.run(_roles(settings, args))


async def _roles(settings: Settings, args: argparse.Namespace) -> None:
    from app.db import create_engine, create_sessionmaker
    from cooperative.accounts import roles
    from cooperative.accounts import service as accounts_service
    from cooperative.accounts.errors import ClinicRequired
    from cooperative.kernel.errors import TequioError
    from cooperative.kernel.principal import Role
    from telehealth.clinics import service as clinics

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            account = await accounts_service.find_by_identifier(session, args.contact)
            if account is None:
                print(f"no account signed up with {args.contact}", file=sys.stderr)
                raise SystemExit(2)
            try:
                if args.roles_command != "list" and (args.role == "clinic_staff") != bool(
                    args.clinic
                ):
                    raise ClinicRequired()
                if args.roles_command == "grant" and args.clinic:
                    await clinics.grant_staff(
                        session, uuid.UUID(args.clinic), account.id, reason=args.reason, by=None
                    )
                elif args.roles_command == "grant":
                    await roles.grant(
                        session, account.id, Role(args.role), reason=args.reason, by=None
                    )
                elif args.roles_command == "revoke" and args.clinic:
                    await clinics.revoke_staff(
                        session, uuid.UUID(args.clinic), account.id, reason=args.reason, by=None
                    )
                elif args.roles_command == "revoke":
                    await roles.revoke(
                        session, account.id, Role(args.role), reason=args.reason, by=None
                    )
            except TequioError as exc:
                print(str(exc), file=sys.stderr)
                raise SystemExit(2) from exc
            await session.commit()
            print(f"{account.display_name}: {', '.join(sorted(account.roles))}")
            for change in await roles.history(session, account.id):
                where = f" at clinic {change.clinic_id}" if change.clinic_id else ""
                print(
                    f"  {change.at:%Y-%m-%d %H:%M} {change.action} {change.role}{where}: "
                    f"{change.reason}"
                )
    finally:
        await engine.dispose()


def bylaws_install(args: argparse.Namespace) -> None:
    from pathlib import Path

    from cooperative.bylaws.defaults import default_bylaws
    from cooperative.bylaws.schema import Bylaws, parse_toml

    settings = _settings()
    try:
        if args.file is None:
            document = default_bylaws()
        elif args.file.endswith(".json"):
            document = Bylaws.model_validate_json(Path(args.file).read_text("utf-8"))
        else:
            document = parse_toml(Path(args.file).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cannot use {args.file}: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    asyncio.run(_bylaws_install(settings, document))


async def _bylaws_install(settings: Settings, document: "Bylaws") -> None:
    from app.db import create_engine, create_sessionmaker
    from cooperative.bylaws import service as bylaws_service
    from cooperative.kernel.errors import TequioError

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            try:
                version = await bylaws_service.install(session, document, account_id=None)
            except TequioError as exc:
                print(str(exc), file=sys.stderr)
                raise SystemExit(2) from exc
            await session.commit()
    finally:
        await engine.dispose()
    print(f"bylaws version {version.number} installed ({version.digest[:12]})")


def governance_recount(args: argparse.Namespace) -> None:
    """Recount a proposal from its published ballots.json, with the code the API counts with."""
    import json
    from pathlib import Path

    from cooperative.governance.rules import tally

    try:
        published = json.loads(Path(args.file).read_text("utf-8"))
        result = tally(published)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"cannot recount {args.file}: {exc!r}", file=sys.stderr)
        raise SystemExit(2) from exc
    print(json.dumps(result, indent=2, ensure_ascii=False))


def _progress(label: str) -> Callable[[int, int], None]:
    """A progress bar on stderr (the CLI's own; no dependency)."""

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        end = "\n" if done >= total else ""
        print(
            f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}",
            end=end,
            file=sys.stderr,
            flush=True,
        )

    return show


def surplus_compute(args: argparse.Namespace) -> None:
    """Compute a draft allocation run for a fiscal year, as an admin would through the API."""
    from decimal import Decimal, InvalidOperation

    try:
        rates = {
            code.strip().upper(): Decimal(value)
            for code, _, value in (r.partition("=") for r in args.rate or [])
        }
    except InvalidOperation as exc:
        print(f"cannot read the rates {args.rate}: write them as USD=17.25", file=sys.stderr)
        raise SystemExit(2) from exc
    if not all(0 < rate <= 1_000_000 for rate in rates.values()):
        print("a rate is a positive number of at most 1,000,000", file=sys.stderr)
        raise SystemExit(2)
    asyncio.run(_surplus_compute(_settings(), args, rates))


async def _surplus_compute(settings: Settings, args: argparse.Namespace, rates: Any) -> None:
    from app.db import create_engine, create_sessionmaker
    from cooperative.kernel.errors import TequioError
    from cooperative.surplus import service as surplus

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            try:
                run = await surplus.compute(
                    session,
                    year=args.year,
                    net_surplus_minor=args.surplus,
                    currency=args.currency,
                    rates=rates,
                    timezone=settings.timezone,
                    account_id=None,
                    progress=_progress("member lines"),
                )
            except TequioError as exc:
                print(str(exc), file=sys.stderr)
                raise SystemExit(2) from exc
            await session.commit()
    finally:
        await engine.dispose()
    summary = run.summary
    print(f"run {run.id}: fiscal year {run.fiscal_year}, bylaws version {run.bylaws_version}")
    print(
        f"  reserve {summary['reserve_minor']}, education {summary['education_minor']}, "
        f"welfare {summary['welfare_minor']}, to members {summary['distributable_minor']} "
        f"({run.currency} minor units), {run.members} members; inputs {run.input_digest[:12]}"
    )


def surplus_export(args: argparse.Namespace) -> None:
    """Write a run's member lines as CSV (to a file, or standard output)."""
    from pathlib import Path

    text = asyncio.run(_surplus_export(_settings(), args))
    if args.output:
        Path(args.output).write_text(text, "utf-8")
        print(f"wrote {text.count(chr(10)) - 1} member lines to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


async def _surplus_export(settings: Settings, args: argparse.Namespace) -> str:
    import uuid

    from app.db import create_engine, create_sessionmaker
    from app.routers.surplus import export_csv
    from cooperative.kernel.errors import TequioError
    from cooperative.surplus import service as surplus

    try:
        run_id = uuid.UUID(args.run)
    except ValueError as exc:
        print(f"not a run id: {args.run}", file=sys.stderr)
        raise SystemExit(2) from exc
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            try:
                await surplus.get_run(session, run_id)
            except TequioError as exc:
                print(f"no allocation run {run_id}", file=sys.stderr)
                raise SystemExit(2) from exc
            return await export_csv(session, run_id)
    finally:
        await engine.dispose()


def slots_rebuild(args: argparse.Namespace) -> None:
    print(f"open slots laid out again for {asyncio.run(_slots_rebuild(_settings()))} practitioners")


async def _slots_rebuild(settings: Settings) -> int:
    from app.db import create_engine, create_sessionmaker, in_own_session
    from telehealth.scheduling import openings

    engine = create_engine(settings)
    try:
        return await in_own_session(create_sessionmaker(engine), openings.lay_out_all)
    finally:
        await engine.dispose()


def worker(args: argparse.Namespace) -> None:
    """Deliver the outbox until stopped (several may run at once on PostgreSQL)."""
    settings = _settings()
    logs.configure(settings.log_level, as_json=settings.log_json)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_worker(settings, every=args.every, once=args.once))


async def _worker(settings: Settings, *, every: float | None, once: bool) -> None:
    from app.db import create_engine, create_sessionmaker
    from app.outbox import Dispatcher
    from app.webhooks import WebhookDispatcher

    engine = create_engine(settings)
    try:
        sessions = create_sessionmaker(engine)
        dispatcher = Dispatcher.from_settings(settings, sessions)
        hooks = WebhookDispatcher.from_settings(settings, sessions)
        if once:
            print(f"{await dispatcher.drain()} messages handled")
            print(f"{await hooks.drain()} webhook deliveries handled")
            return
        pace = every or settings.outbox_dispatch_seconds or 5
        await asyncio.gather(dispatcher.run(pace), hooks.run(pace))
    finally:
        await engine.dispose()


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="tequio", description="Tequio cooperative API")
    commands = root.add_subparsers(dest="command", required=True)
    _server_commands(commands)
    _people_commands(commands)
    _cooperative_commands(commands)
    return root


def _server_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = commands.add_parser("serve", help="serve the API with uvicorn")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int)
    p.set_defaults(func=serve)

    p = commands.add_parser(
        "worker", help="deliver the outbox's messages (beside or instead of `serve`'s dispatcher)"
    )
    p.add_argument("--every", type=float, help="seconds between passes (default: the setting)")
    p.add_argument("--once", action="store_true", help="deliver what is due now, then stop")
    p.set_defaults(func=worker)

    p = commands.add_parser("migrate", help="apply database migrations (default: to head)")
    p.add_argument("revision", nargs="?", default="head")
    p.add_argument("--downgrade", metavar="REVISION", help="downgrade instead, e.g. to 'base'")
    p.set_defaults(func=migrate)

    p = commands.add_parser("demo", help="seed the demo cooperative and print its logins")
    p.add_argument("--if-empty", action="store_true", help="only when there are no accounts yet")
    p.set_defaults(func=demo)

    p = commands.add_parser(
        "demo-consult", help="book a demo consult starting in a few minutes, to try the page"
    )
    p.add_argument("--minutes", type=int, default=5, help="minutes until it starts")
    p.set_defaults(func=demo_consult)

    p = commands.add_parser("slots", help="the open slots slot search reads")
    slots_commands = p.add_subparsers(dest="slots_command", required=True)
    p = slots_commands.add_parser(
        "rebuild",
        help="lay every practitioner's open slots out again (after rows written by hand in the "
        "availability tables, or a time-zone database update)",
    )
    p.set_defaults(func=slots_rebuild)


def _people_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = commands.add_parser("create-admin", help="create an admin account (or grant admin)")
    contact = p.add_mutually_exclusive_group(required=True)
    contact.add_argument("--email")
    contact.add_argument("--phone")
    p.add_argument("--name", default="Administrator")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(func=create_admin)
    p = commands.add_parser("roles", help="give, take away or list an account's roles")
    roles_commands = p.add_subparsers(dest="roles_command", required=True)
    for name, verb in (("grant", "give"), ("revoke", "take away")):
        p = roles_commands.add_parser(name, help=f"{verb} a role, with the reason")
        p.add_argument("contact", help="the account's email or phone number")
        p.add_argument("role", choices=["doctor", "clinic_staff", "board", "treasurer", "admin"])
        p.add_argument("--reason", required=True, help="why; the person sees it")
        p.add_argument("--clinic", help="for clinic_staff: the clinic's id")
        p.set_defaults(func=roles_command)
    p = roles_commands.add_parser("list", help="the roles held and their history")
    p.add_argument("contact", help="the account's email or phone number")
    p.set_defaults(func=roles_command)


def _cooperative_commands(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> None:
    p = commands.add_parser("bylaws", help="the cooperative's bylaws")
    bylaws_commands = p.add_subparsers(dest="bylaws_command", required=True)
    p = bylaws_commands.add_parser("install", help="install version 1 (default: the shipped one)")
    p.add_argument("--file", help="a bylaws document, TOML or JSON")
    p.set_defaults(func=bylaws_install)
    p = commands.add_parser("governance", help="votes and elections")
    governance_commands = p.add_subparsers(dest="governance_command", required=True)
    p = governance_commands.add_parser(
        "recount", help="recount a proposal from its published ballots.json; prints the result"
    )
    p.add_argument("file", help="the ballots.json downloaded after the close")
    p.set_defaults(func=governance_recount)
    p = commands.add_parser("surplus", help="surplus allocation")
    surplus_commands = p.add_subparsers(dest="surplus_command", required=True)
    p = surplus_commands.add_parser("compute", help="compute a draft allocation for a year")
    p.add_argument("--year", type=int, required=True, help="the fiscal year, e.g. 2026")
    p.add_argument(
        "--surplus", type=int, required=True, help="net surplus in minor units (negative: deficit)"
    )
    p.add_argument("--currency", choices=["MXN", "USD"], default="MXN")
    p.add_argument(
        "--rate",
        action="append",
        help="a year-end rate for patronage in another currency: USD=17.25",
    )
    p.set_defaults(func=surplus_compute)
    p = surplus_commands.add_parser("export", help="a run's member lines as CSV")
    p.add_argument("--run", required=True, help="the run id")
    p.add_argument("--output", help="a file to write (default: standard output)")
    p.set_defaults(func=surplus_export)


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.func(args)
