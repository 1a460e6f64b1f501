//! The eval-report chart as a PNG, for places that show images but not SVG (issue trackers,
//! chat, notebooks). Drawn into an RGB buffer by hand — bars, grid lines and text from an
//! 8×8 bitmap font — so it needs no font files or native libraries, like the SVG.

use font8x8::UnicodeFonts;

use super::load::RunMetrics;
use super::report::{chart_groups, largest_k, values_at};

type Rgb = [u8; 3];

const WHITE: Rgb = [255, 255, 255];
const INK: Rgb = [34, 34, 34];
const GRID: Rgb = [221, 221, 221];
const SERIES: [Rgb; 3] = [[0x1f, 0x5f, 0xa8], [0x2f, 0x6f, 0x3e], [0x8a, 0x5a, 0x00]];

/// Pixels of one glyph cell at scale 1.
const GLYPH: usize = 8;
const BAR: usize = 24;
const GAP: usize = 36;
const LEFT: usize = 56;
const TOP: usize = 56;
const PLOT_HEIGHT: usize = 240;

/// The same grouped bar chart as [`super::report::svg`], encoded as PNG.
pub fn png(report: &RunMetrics) -> Result<Vec<u8>, png::EncodingError> {
    let (field, groups) = chart_groups(report);
    let group_width = 3 * BAR + GAP;
    let k = largest_k(report);
    let title = format!(
        "{} - pass@{k}, mean@{k}, majority@{k}{}",
        report.run_id,
        field.map(|f| format!(" by {f}")).unwrap_or_default()
    );
    let width = (LEFT + groups.len() * group_width + 20).max(LEFT + title.chars().count() * GLYPH + 20);
    let height = TOP + PLOT_HEIGHT + 40;
    let mut canvas = Canvas::new(width, height);

    canvas.text(LEFT, 8, &title, INK);
    for (series, name) in ["pass", "mean", "majority"].iter().enumerate() {
        let x = LEFT + series * 120;
        canvas.fill(x, 28, 10, 10, SERIES[series]);
        canvas.text(x + 14, 29, &format!("{name}@{k}"), INK);
    }
    for tick in 0..=4 {
        let value = f64::from(tick) / 4.0;
        let y = TOP + PLOT_HEIGHT - (PLOT_HEIGHT as f64 * value).round() as usize;
        canvas.fill(LEFT, y, width - LEFT - 10, 1, GRID);
        let label = format!("{value:.2}");
        canvas.text(LEFT - 6 - label.len() * GLYPH, y.saturating_sub(4), &label, INK);
    }
    for (index, (label, metrics)) in groups.iter().enumerate() {
        let x0 = LEFT + index * group_width + GAP / 2;
        for (series, value) in values_at(metrics).into_iter().enumerate() {
            let value = value.unwrap_or(0.0).clamp(0.0, 1.0);
            let bar_height = (PLOT_HEIGHT as f64 * value).round() as usize;
            canvas.fill(
                x0 + series * BAR,
                TOP + PLOT_HEIGHT - bar_height,
                BAR - 2,
                bar_height,
                SERIES[series],
            );
        }
        // As many characters as fit under the group; the table has the full names.
        let fits = group_width / GLYPH - 1;
        let shown: String = label.chars().take(fits).collect();
        let text_x = (x0 + 3 * BAR / 2).saturating_sub(shown.chars().count() * GLYPH / 2);
        canvas.text(text_x, TOP + PLOT_HEIGHT + 8, &shown, INK);
    }
    canvas.encode()
}

/// An RGB image being drawn.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Self {
        Canvas {
            width,
            height,
            pixels: WHITE.repeat(width * height),
        }
    }

    /// Fills a rectangle, clipped to the image.
    fn fill(&mut self, x: usize, y: usize, width: usize, height: usize, colour: Rgb) {
        for row in y..(y + height).min(self.height) {
            for column in x..(x + width).min(self.width) {
                let at = 3 * (row * self.width + column);
                self.pixels[at..at + 3].copy_from_slice(&colour);
            }
        }
    }

    /// Draws `text` with its top-left corner at (x, y); characters the font lacks show as `?`.
    fn text(&mut self, x: usize, y: usize, text: &str, colour: Rgb) {
        for (index, character) in text.chars().enumerate() {
            let glyph = font8x8::BASIC_FONTS
                .get(character)
                .or_else(|| font8x8::LATIN_FONTS.get(character))
                .or_else(|| font8x8::BASIC_FONTS.get('?'))
                .unwrap_or([0; 8]);
            for (row, bits) in glyph.iter().enumerate() {
                for column in 0..GLYPH {
                    // Bit 0 is the leftmost pixel of the row.
                    if bits & (1 << column) != 0 {
                        self.fill(x + index * GLYPH + column, y + row, 1, 1, colour);
                    }
                }
            }
        }
    }

    fn encode(self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header()?.write_image_data(&self.pixels)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::eval::{Sample, metrics};

    fn decode(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap();
        pixels.truncate(info.buffer_size());
        (info, pixels)
    }

    fn colour_count(pixels: &[u8], colour: Rgb) -> usize {
        pixels.chunks_exact(3).filter(|p| *p == colour).count()
    }

    #[test]
    fn the_png_has_a_bar_per_value_sized_by_the_metric() {
        let right = Sample {
            success: true,
            cluster: Some(0),
        };
        let wrong = Sample {
            success: false,
            cluster: Some(1),
        };
        // Problem one always right, problem two never: pass@1 = mean@1 = 0.5 overall.
        let solved = vec![right.clone(), right];
        let failed = vec![wrong.clone(), wrong];
        let overall = metrics([solved.as_slice(), failed.as_slice()], &[1]);
        let mut subjects = BTreeMap::new();
        subjects.insert("Algebra".to_owned(), metrics([solved.as_slice()], &[1]));
        subjects.insert("Geometry".to_owned(), metrics([failed.as_slice()], &[1]));
        let mut by = BTreeMap::new();
        by.insert("subject".to_owned(), subjects);
        let report = RunMetrics {
            run_id: "run-7".into(),
            overall,
            by,
        };
        let bytes = png(&report).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let (info, pixels) = decode(&bytes);
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.height as usize, TOP + PLOT_HEIGHT + 40);
        // The pass@1 bars: overall at half height, Algebra full, Geometry none (0); plus the
        // legend swatch. Each bar is BAR - 2 pixels wide.
        let bar_pixels = (BAR - 2) * (PLOT_HEIGHT / 2 + PLOT_HEIGHT);
        assert_eq!(colour_count(&pixels, SERIES[0]), bar_pixels + 100);
        // Text was drawn: the title, labels and tick values are ink.
        assert!(colour_count(&pixels, INK) > 500);
    }

    #[test]
    fn characters_outside_the_font_do_not_break_the_drawing() {
        let mut canvas = Canvas::new(64, 16);
        canvas.text(0, 0, "é€漢", INK);
        canvas.text(60, 12, "clipped at the edge", INK);
        assert!(colour_count(&canvas.pixels, INK) > 0);
        assert!(canvas.encode().is_ok());
    }
}
