"""`bot hotspots`: the hot spots (预警) of the window ending now; `--raise` records new ones and
tells the supervisors (run it on a timer, e.g. every 15 minutes with `--interval 900`)."""
from __future__ import annotations

import click


@click.command("hotspots")
@click.option("--raise", "raise_alerts", is_flag=True, help="Record alerts and note the newest case.")
@click.option("--interval", type=float, default=0.0, help="Seconds between passes (0: once).")
@click.option("--json", "as_json", is_flag=True)
def hotspots_command(raise_alerts: bool, interval: float, as_json: bool) -> None:
    """预警：同一区域或相邻区域、同类、内容相近的诉求在时间窗内达到阈值。"""
    from bot.cases import hotspots
    from bot.cli import _container, _emit, _loop, handle_errors

    service = _container().cases

    def one_pass() -> None:
        found = hotspots.scan(service, hotspots.HotspotRules.from_env(), raise_alerts=raise_alerts)
        items = [h.to_dict(service.catalog) for h in found]

        def human(rows):
            if not rows:
                click.echo("目前没有预警。")
            for h in rows:
                where = h["area"]["name"] if h["area"] else "全县"
                mark = f"预警 #{h['alert_id']}" if h["raised"] else "未登记"
                click.echo(f"{mark}  {where}  {h['category']['level1']}/{h['category']['level2']}  "
                           f"{h['residents']} 位群众 {h['cases_count']} 件："
                           + "、".join(c["number"] for c in h["cases"]))
        _emit(items, as_json, human)

    handle_errors(lambda: _loop(one_pass, interval, interval <= 0))()
