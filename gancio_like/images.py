"""People's pictures (SPEC §2 "More about accounts"): uploads re-encoded, and generated
defaults. Pillow does the work; no internal imports. Everything here is CPU-bound and
synchronous: callers run it in a thread (services/avatars.py).

An upload is untrusted bytes. It must be at most `MAX_BYTES` and, by its content (never
its name or announced type), a PNG, JPEG or WebP: GIF, SVG, BMP, TIFF and the rest are
refused. Its size is read from its header and refused over `MAX_PIXELS` before a single
pixel is decoded: a few kilobytes of PNG can stand for gigabytes of pixels (a
decompression bomb). It is then decoded whole (a truncated file is refused; of an
animation, the first frame is kept), turned upright by its EXIF orientation, converted
to sRGB by its ICC profile, cropped to its centred square, scaled to at most `MAX_SIDE`
and encoded again from its pixels alone, so no EXIF (GPS position, camera), ICC, XMP
or text chunk survives.

Stored as JPEG, or PNG when the picture has transparency: both are what every reader of
an ActivityPub actor's `icon` accepts (Mastodon takes JPEG, PNG, GIF and WebP; older
servers and apps take the first two for sure). WebP would save ~30 % of ~40 KB.

A person with no upload gets a generated picture: their initials, white, on a colour
derived from their name and darkened until the text has WCAG AA contrast (4.5:1).
"""
from __future__ import annotations

import functools
import hashlib
import io
import colorsys
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 400
# 40 million pixels: a 12 MP phone photo fits three times over; decoding the largest
# allowed PNG takes ~160 MB for a moment, and one upload is decoded at a time.
MAX_PIXELS = 40_000_000
FORMATS = ("PNG", "JPEG", "WEBP")
JPEG_QUALITY = 85
GENERATED_SIDE = 256
WHITE = (255, 255, 255)
AA_CONTRAST = 4.5  # WCAG 2.x level AA for normal text; the initials are large, so this is generous


class ImageRefused(ValueError):
    """The upload is not a picture Fync takes; the message says why, for the person."""


@dataclass(frozen=True)
class Picture:
    data: bytes
    media_type: str


# -- uploads ----------------------------------------------------------------------------------

def square_avatar(data: bytes) -> Picture:
    """An uploaded file → the square picture to store; ImageRefused when it is not one."""
    if len(data) > MAX_BYTES:
        raise ImageRefused("the picture is larger than 5 MB: choose a smaller one")
    try:
        return _encode(_square(_decoded(data)))
    except ImageRefused:
        raise
    except UnidentifiedImageError:
        raise ImageRefused("that file is not a PNG, JPEG or WebP picture") from None
    except Image.DecompressionBombError:
        raise ImageRefused(_too_many_pixels()) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError):
        # Pillow's decoders say "truncated", "broken data stream", "bad marker" in these.
        raise ImageRefused("that picture is damaged or incomplete: it could not be read whole") from None


def _too_many_pixels() -> str:
    return f"the picture has more than {MAX_PIXELS // 1_000_000} million pixels: scale it down first"


def _decoded(data: bytes) -> Image.Image:
    """The first frame, decoded whole, upright, in sRGB ("RGB" or "RGBA")."""
    with Image.open(io.BytesIO(data), formats=FORMATS) as image:
        width, height = image.size  # from the header: nothing is decoded yet
        if width * height > MAX_PIXELS:
            raise ImageRefused(_too_many_pixels())
        image.seek(0)
        if image.format == "JPEG":
            image.draft(None, (MAX_SIDE, MAX_SIDE))  # decode at 1/2, 1/4 or 1/8 when that is enough
        image.load()
        upright = ImageOps.exif_transpose(image)
        return _srgb(upright, upright.info.get("icc_profile"))


def _srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB, or RGBA when it has transparency, with colours converted from its ICC profile."""
    mode = "RGBA" if _has_alpha(image) else "RGB"
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if icc:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(image.convert(mode) if image.mode != "CMYK" else image,
                                             profile, ImageCms.createProfile("sRGB"), outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a profile littlecms cannot use: the pixels as they are
    return image.convert(mode)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _square(image: Image.Image) -> Image.Image:
    """The centred square, at most MAX_SIDE, as a new image that carries nothing but pixels."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    if side > MAX_SIDE:
        square = square.resize((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    # Rebuilt from the raw pixels: whatever `info` the decoder filled in stays behind.
    return Image.frombytes(square.mode, square.size, square.tobytes())


def _encode(image: Image.Image) -> Picture:
    out = io.BytesIO()
    if image.mode == "RGBA" and image.getchannel("A").getextrema()[0] < 255:
        image.save(out, "PNG", optimize=True)
        return Picture(out.getvalue(), "image/png")
    image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return Picture(out.getvalue(), "image/jpeg")


# -- generated pictures -----------------------------------------------------------------------

def initials(name: str, fallback: str) -> str:
    """Up to two capital initials of `name` ("Ada Lovelace" → "AL"); from `fallback` (a
    username, ASCII) when `name` has none the bundled font can draw (it is Latin only)."""
    for text in (name, fallback.replace("_", " ")):
        letters = [word[0] for word in text.split() if word[:1].isascii() and word[:1].isalnum()]
        if letters:
            return "".join(letters[:1] + letters[1:][-1:]).upper()
    return "?"


def colour_for(key: str) -> tuple[int, int, int]:
    """A colour of its own for each name, dark enough for white text at WCAG AA."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    hue, lightness = digest[0] / 255, 0.30 + digest[1] / 255 * 0.15
    while True:
        colour = tuple(round(c * 255) for c in colorsys.hls_to_rgb(hue, lightness, 0.55))
        if contrast(colour, WHITE) >= AA_CONTRAST:
            return colour
        lightness -= 0.02


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2.x contrast ratio of two sRGB colours (1 to 21)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _luminance(colour: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@functools.lru_cache(maxsize=2048)
def generated(text: str, colour: tuple[int, int, int]) -> Picture:
    """`text` (initials) in white on `colour`, as a square PNG; made once per pair (~2 ms)."""
    image = Image.new("RGB", (GENERATED_SIDE, GENERATED_SIDE), colour)
    font = ImageFont.load_default(size=GENERATED_SIDE * 0.42 if len(text) < 2 else GENERATED_SIDE * 0.36)
    ImageDraw.Draw(image).text((GENERATED_SIDE / 2, GENERATED_SIDE / 2), text, fill=WHITE, font=font,
                               anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return Picture(out.getvalue(), "image/png")
