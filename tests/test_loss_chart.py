"""The trainer window's loss curve: round step ticks, points where their values say, an empty state."""

from __future__ import annotations

import pytest

from ui.loss_chart import LossChart, step_ticks


@pytest.mark.parametrize("steps", [1, 3, 7, 10, 60, 333, 5000])
def test_step_ticks_are_whole_distinct_and_span_the_run(steps):
    ticks = step_ticks(steps)
    assert ticks[0] == 0 and len(set(ticks)) == len(ticks) and all(isinstance(t, int) for t in ticks)
    assert 2 <= len(ticks) <= 6 and ticks[-1] <= steps and steps - ticks[-1] < steps / 2


def test_points_land_where_their_step_and_loss_say(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.resize(400, 200)
    chart.set_total(100)
    chart.add_train(50, 1.0)
    chart.add_train(100, float("nan"))  # a diverged step is not drawn
    rect = chart.plot_rect()
    point = chart.to_pixels(50, 1.0)
    assert point.x() == pytest.approx(rect.center().x()) and point.y() == pytest.approx(rect.top())
    assert chart.train_points == [(50, 1.0)]


def test_an_empty_chart_draws_no_axes(qtbot):
    empty, started = LossChart(), LossChart()
    for chart in (empty, started):
        qtbot.addWidget(chart)
        chart.resize(400, 200)
    started.set_total(10)
    axis_x = int(empty.plot_rect().left())
    column = [empty.grab().toImage().pixelColor(axis_x, y).name() for y in range(40, 160)]
    drawn = [started.grab().toImage().pixelColor(axis_x, y).name() for y in range(40, 160)]
    assert len(set(column)) == 1 and len(set(drawn)) > 1
