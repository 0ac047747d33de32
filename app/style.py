"""Caption style: font, colours, background opacity, lines; presets, and their contrast.

Contrast follows WCAG 2.x: the ratio of the relative luminances (plus 0.05) of
the text and what is behind it. The overlay's background is translucent, so
what is behind the text is the background colour blended over whatever the
screen shows; `worst_contrast` takes the worst screen (black or white, or any
colour between, where the blend can match the text). Every preset keeps at
least 7:1 (WCAG AAA) over anything.
"""

from dataclasses import asdict, dataclass, fields, replace

AAA = 7.0
MIN_FONT_SIZE, MAX_FONT_SIZE = 10, 160
MAX_LINES = 10


@dataclass(frozen=True)
class CaptionStyle:
    font_family: str = ""  # empty: the system's interface font
    font_size: int = 28  # points
    text_color: str = "#ffffff"
    background_color: str = "#000000"
    background_opacity: float = 0.85  # of the overlay; the main window's caption area is opaque
    lines: int = 3  # caption lines the overlay shows
    uppercase: bool = False

    def resized(self, steps: int) -> "CaptionStyle":
        """The style with the text ``steps`` sizes bigger (negative: smaller), within the limits."""
        size = self.font_size
        for _ in range(abs(steps)):
            size = round(size * 1.15) if steps > 0 else round(size / 1.15)
        return replace(self, font_size=max(MIN_FONT_SIZE, min(MAX_FONT_SIZE, size)))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "CaptionStyle":
        """A style from saved settings; missing or unreadable values keep their defaults."""
        default = cls()
        kept = {}
        for f in fields(cls):
            if f.name not in values:
                continue
            value, kind = values[f.name], type(getattr(default, f.name))
            try:
                if kind is bool:
                    value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
                else:
                    value = kind(value)
            except (TypeError, ValueError):
                continue
            if kind is str and f.name.endswith("color") and parse_color(value) is None:
                continue
            kept[f.name] = value
        style = replace(default, **kept)
        return replace(style, font_size=max(MIN_FONT_SIZE, min(MAX_FONT_SIZE, style.font_size)),
                       lines=max(1, min(MAX_LINES, style.lines)),
                       background_opacity=max(0.0, min(1.0, style.background_opacity)))


PRESETS: dict[str, CaptionStyle] = {
    "White on black": CaptionStyle(text_color="#ffffff", background_color="#000000"),
    "Yellow on black": CaptionStyle(text_color="#ffff00", background_color="#000000"),
    "Black on white": CaptionStyle(text_color="#000000", background_color="#ffffff", background_opacity=0.9),
    "Black on cream": CaptionStyle(text_color="#000000", background_color="#fff8dc", background_opacity=0.9),
    "White on navy": CaptionStyle(text_color="#ffffff", background_color="#001f4d", background_opacity=0.9),
    "Large, yellow on black": CaptionStyle(text_color="#ffff00", background_color="#000000", font_size=56,
                                           background_opacity=0.95, lines=2),
}
DEFAULT_PRESET = "White on black"


def parse_color(text: str) -> tuple[int, int, int] | None:
    """``#rrggbb`` (or ``#rgb``) as 0-255 channels; None if it is not such a colour."""
    text = text.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) != 6:
        return None
    try:
        return tuple(int(text[i:i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return None


def _linear(channel: float) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG relative luminance of an sRGB colour (0-255 channels)."""
    r, g, b = (_linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    a, b = luminance(parse_color(foreground)), luminance(parse_color(background))
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def worst_contrast(style: CaptionStyle, opacity: float | None = None) -> float:
    """The lowest contrast of the text over its background blended (at ``opacity``, default the
    style's) over any screen colour."""
    alpha = style.background_opacity if opacity is None else opacity
    text = luminance(parse_color(style.text_color))
    background = parse_color(style.background_color)
    over_black = luminance(tuple(alpha * c for c in background))
    over_white = luminance(tuple(alpha * c + (1 - alpha) * 255 for c in background))
    if over_black <= text <= over_white:
        return 1.0  # some screen colour makes the blend match the text
    behind = over_white if text > over_white else over_black
    return (max(text, behind) + 0.05) / (min(text, behind) + 0.05)


def preset_name(style: CaptionStyle) -> str | None:
    """The preset whose colours and opacity ``style`` has, if any."""
    key = (style.text_color.lower(), style.background_color.lower(), style.background_opacity)
    for name, preset in PRESETS.items():
        if (preset.text_color, preset.background_color, preset.background_opacity) == key:
            return name
    return None
