//! Charts drawn on the server with plotters' SVG backend: text is SVG `<text>` (the browser's
//! fonts), so nothing needs a font file. Each chart carries a `<title>` and `<desc>` and is
//! shown beside a table holding the same numbers.

use eprime_domain::ActivityStatus;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::views::status_label;

/// Status colours, in `ActivityStatus::ALL` order; each has at least 4.5:1 contrast with white.
pub const STATUS_COLOURS: [(u8, u8, u8); 7] = [
    (0x4b, 0x55, 0x63), // proposed: slate
    (0x1d, 0x4e, 0xd8), // approved: blue
    (0x6d, 0x28, 0xd9), // scheduled: violet
    (0xb4, 0x53, 0x09), // in progress: amber
    (0x04, 0x78, 0x57), // completed: green
    (0xbe, 0x18, 0x5d), // postponed: pink
    (0x99, 0x1b, 0x1b), // cancelled: red
];

fn colour(i: usize) -> RGBColor {
    let (r, g, b) = STATUS_COLOURS[i];
    RGBColor(r, g, b)
}

/// One bar of the goals chart: a theme's code and title with its activities per status.
pub struct ThemeBar {
    pub code: String,
    pub title: String,
    pub by_status: [usize; 7],
}

/// Activities per goal, stacked by status, one horizontal bar per goal, in document order.
pub fn goals_by_status(id: &str, bars: &[ThemeBar]) -> String {
    let width = 760u32;
    let row = 26u32;
    let height = 70 + row * bars.len().max(1) as u32;
    let max = bars.iter().map(|b| b.by_status.iter().sum::<usize>()).max().unwrap_or(0).max(1);
    let n = bars.len().max(1) as f64;
    let ink = RGBColor(0x1f, 0x29, 0x37);
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(230)
            .build_cartesian_2d(0f64..(max as f64 * 1.05), 0f64..n)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .max_light_lines(0)
            .x_desc("activities")
            .x_labels(max.min(10) + 1)
            .x_label_formatter(&|v| if v.fract() == 0.0 { format!("{v:.0}") } else { String::new() })
            .y_labels(0)
            .label_style(("sans-serif", 13).into_font().color(&ink))
            .axis_desc_style(("sans-serif", 13))
            .draw()?;
        let label_style = ("sans-serif", 13).into_font().color(&ink).pos(Pos::new(HPos::Right, VPos::Center));
        for (i, bar) in bars.iter().enumerate() {
            // The first theme at the top.
            let base = n - 1.0 - i as f64;
            let (px, py) = chart.backend_coord(&(0.0, base + 0.5));
            root.draw(&Text::new(short(bar, 34), (px - 8, py), label_style.clone()))?;
            let mut x = 0.0;
            for (s, count) in bar.by_status.iter().enumerate().filter(|(_, c)| **c > 0) {
                let next = x + *count as f64;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x, base + 0.18), (next, base + 0.82)],
                    colour(s).filled(),
                )))?;
                x = next;
            }
        }
        root.present()?;
        Ok(())
    })();
    if let Err(error) = drawn {
        tracing::warn!(%error, "the goals chart could not be drawn");
        return String::new();
    }
    let total: usize = bars.iter().map(|b| b.by_status.iter().sum::<usize>()).sum();
    let bare = bars.iter().filter(|b| b.by_status.iter().all(|c| *c == 0)).count();
    accessible(
        svg,
        id,
        (width, height),
        "Activities per goal, by status",
        &format!(
            "{} themes; {} activity links in all; {} themes have no activity yet. The table beside the chart lists the same numbers.",
            bars.len(),
            total,
            bare
        ),
    )
}

fn short(bar: &ThemeBar, max: usize) -> String {
    let label = format!("{} {}", bar.code, bar.title);
    if label.chars().count() <= max {
        label
    } else {
        format!("{}…", label.chars().take(max - 1).collect::<String>().trim_end())
    }
}

/// A programme period shown as a band behind the timeline.
pub struct Period {
    pub label: String,
    pub from: i32,
    pub to: i32,
}

/// Activities by the year they start, stacked by status, with the programmes' periods behind.
///
/// When `folded`, the first year also counts everything that started before it (labelled "≤year").
pub fn timeline(id: &str, years: &[(i32, [usize; 7])], periods: &[Period], folded: bool) -> String {
    let width = 760u32;
    let height = 300u32;
    let (Some(first), Some(last)) = (years.first().map(|y| y.0), years.last().map(|y| y.0)) else {
        return String::new();
    };
    let max = years.iter().map(|(_, c)| c.iter().sum::<usize>()).max().unwrap_or(0).max(1);
    let top = max as f64 * 1.25 + 1.0;
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(first as f64 - 0.5..last as f64 + 0.5, 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(((last - first + 1) as usize).min(16))
            .x_label_formatter(&|v| match v {
                v if v.fract() != 0.0 => String::new(),
                v if *v as i32 == first && folded => format!("≤{v:.0}"),
                v => format!("{v:.0}"),
            })
            .max_light_lines(0)
            .y_labels((top as usize).clamp(2, 10))
            .y_desc("activities starting")
            .y_label_formatter(&|v| if v.fract() == 0.0 { format!("{v:.0}") } else { String::new() })
            .label_style(("sans-serif", 13).into_font().color(&RGBColor(0x1f, 0x29, 0x37)))
            .axis_desc_style(("sans-serif", 13))
            .draw()?;
        let bands = [RGBColor(0xe0, 0xe7, 0xff), RGBColor(0xfe, 0xf3, 0xc7), RGBColor(0xdc, 0xfc, 0xe7)];
        for (i, period) in periods.iter().enumerate() {
            let (from, to) = (period.from.max(first) as f64 - 0.5, period.to.min(last) as f64 + 0.5);
            if from >= to {
                continue;
            }
            let band = bands[i % bands.len()];
            chart.draw_series(std::iter::once(Rectangle::new([(from, 0.0), (to, top)], band.filled())))?;
            let level = top - (0.06 + 0.08 * (i % 2) as f64) * top;
            chart.draw_series(std::iter::once(Text::new(
                period.label.clone(),
                (from + 0.05, level),
                ("sans-serif", 12).into_font().color(&RGBColor(0x1f, 0x29, 0x37)),
            )))?;
        }
        for (year, counts) in years {
            let mut y = 0.0;
            for (s, count) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
                let next = y + *count as f64;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(*year as f64 - 0.35, y), (*year as f64 + 0.35, next)],
                    colour(s).filled(),
                )))?;
                y = next;
            }
        }
        root.present()?;
        Ok(())
    })();
    if let Err(error) = drawn {
        tracing::warn!(%error, "the timeline chart could not be drawn");
        return String::new();
    }
    let total: usize = years.iter().map(|(_, c)| c.iter().sum::<usize>()).sum();
    let busiest = years.iter().max_by_key(|(_, c)| c.iter().sum::<usize>()).map(|(y, _)| *y).unwrap_or(first);
    accessible(
        svg,
        id,
        (width, height),
        "Activities by the year they start, by status",
        &format!(
            "{total} dated activities from {first} to {last}; most started in {busiest}. Shaded bands mark the programmes' periods: {}.",
            periods.iter().map(|p| p.label.as_str()).collect::<Vec<_>>().join(", ")
        ),
    )
}

/// A legend of the status colours, for the page beside the charts.
pub fn legend() -> Vec<(&'static str, &'static str)> {
    ActivityStatus::ALL.iter().map(|s| (s.as_str(), status_label(*s))).collect()
}

/// One row of the menu chart: an area's events per month (label, count), months in order.
pub struct AreaMonths {
    pub area: String,
    pub months: Vec<(String, u64)>,
}

/// Menu events by area and month as a grid: one row per area, one column per month, each cell
/// shaded by its count and labelled with it (so the numbers never depend on telling shades apart).
pub fn menu_by_area(id: &str, rows: &[AreaMonths]) -> String {
    let columns = rows.first().map_or(0, |r| r.months.len()).max(1);
    let (left, top, cell_w, cell_h) = (70i32, 40i32, 48i32, 26i32);
    let width = (left + cell_w * columns as i32 + 10) as u32;
    let height = (top + cell_h * rows.len().max(1) as i32 + 10) as u32;
    let max = rows.iter().flat_map(|r| r.months.iter().map(|(_, c)| *c)).max().unwrap_or(0).max(1);
    let ink = RGBColor(0x1f, 0x29, 0x37);
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let head = ("sans-serif", 12).into_font().color(&ink).pos(Pos::new(HPos::Center, VPos::Bottom));
        let side = ("sans-serif", 13).into_font().color(&ink).pos(Pos::new(HPos::Right, VPos::Center));
        if let Some(first) = rows.first() {
            for (j, (month, _)) in first.months.iter().enumerate() {
                let x = left + cell_w * j as i32 + cell_w / 2;
                // "Mar 2026" is too wide for a column: the month, with the year under January.
                let short = month.split(' ').next().unwrap_or(month).to_owned();
                root.draw(&Text::new(short, (x, top - 16), head.clone()))?;
                if j == 0 || month.starts_with("Jan") {
                    let year = month.split(' ').nth(1).unwrap_or_default().to_owned();
                    root.draw(&Text::new(year, (x, top - 2), head.clone()))?;
                }
            }
        }
        for (i, row) in rows.iter().enumerate() {
            let y = top + cell_h * i as i32;
            root.draw(&Text::new(row.area.clone(), (left - 8, y + cell_h / 2), side.clone()))?;
            for (j, (_, count)) in row.months.iter().enumerate() {
                let x = left + cell_w * j as i32;
                // From pale to navy; white text once the cell is dark enough for 4.5:1 contrast.
                let share = *count as f64 / max as f64;
                let mix = |pale: u8, dark: u8| (pale as f64 + (dark as f64 - pale as f64) * share).round() as u8;
                let fill = RGBColor(mix(0xef, 0x1e), mix(0xf6, 0x3a), mix(0xff, 0x8a));
                root.draw(&Rectangle::new([(x + 1, y + 1), (x + cell_w - 1, y + cell_h - 1)], fill.filled()))?;
                let text = if share > 0.5 { WHITE } else { ink };
                let style = ("sans-serif", 12).into_font().color(&text).pos(Pos::new(HPos::Center, VPos::Center));
                root.draw(&Text::new(count.to_string(), (x + cell_w / 2, y + cell_h / 2), style))?;
            }
        }
        root.present()?;
        Ok(())
    })();
    if let Err(error) = drawn {
        tracing::warn!(%error, "the menu chart could not be drawn");
        return String::new();
    }
    let total: u64 = rows.iter().flat_map(|r| r.months.iter().map(|(_, c)| *c)).sum();
    accessible(
        svg,
        id,
        (width, height),
        "Menu events by area of cooperation and month",
        &format!(
            "{} areas with the most events, by the month their sessions start; {total} event-months in all. \
             The table beside the chart gives each area's total.",
            rows.len()
        ),
    )
}

/// Makes plotters' SVG scale with its container and tells assistive technology what it shows.
fn accessible(svg: String, id: &str, (width, height): (u32, u32), title: &str, desc: &str) -> String {
    let svg = svg.replacen(
        &format!("width=\"{width}\" height=\"{height}\" "),
        &format!("class=\"chart\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" "),
        1,
    );
    let Some(end) = svg.find('>') else { return svg };
    let (head, rest) = svg.split_at(end + 1);
    format!(
        "{head}<title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>{rest}",
        escape(title),
        escape(desc)
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_a_title_and_escaped_labels() {
        let bars =
            [ThemeBar { code: "PG1".into(), title: "<script>x</script>".into(), by_status: [1, 0, 0, 0, 2, 0, 0] }];
        let svg = goals_by_status("g", &bars);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<title id=\"g-title\">"));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("role=\"img\""));
        let svg = timeline("t", &[(2014, [0, 0, 0, 0, 3, 0, 0]), (2015, [1, 0, 0, 0, 0, 0, 0])], &[], true);
        assert!(svg.contains("≤2014") && svg.contains("2015"), "{svg}");
    }
}
