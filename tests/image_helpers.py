"""Pictures for the avatar tests, made with Pillow, and a multipart upload like a browser's."""
from __future__ import annotations

import io
import os
import secrets

from PIL import Image, PngImagePlugin

RED, BLUE, GREEN = (220, 20, 20), (20, 20, 220), (20, 200, 20)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def plain(size=(600, 400), colour=RED, fmt="PNG", **options) -> bytes:
    return encoded(Image.new("RGB", size, colour), fmt, **options)


def halves(size=(600, 300)) -> Image.Image:
    """Left half red, right half blue: shows which way a picture was turned."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image


def gps_exif(orientation: int | None = None) -> Image.Exif:
    """EXIF with a camera, a GPS position (Rome) and, optionally, an orientation."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    exif[0x8825] = {1: "N", 2: (41.0, 54.0, 8.0), 3: "E", 4: (12.0, 29.0, 2.0)}  # GPSInfo
    if orientation is not None:
        exif[0x0112] = orientation
    return exif


def with_metadata_png() -> bytes:
    """A PNG with transparency, a text chunk, an ICC profile and EXIF."""
    from PIL import ImageCms
    image = Image.new("RGBA", (300, 300), (*GREEN, 255))
    image.paste((0, 0, 0, 0), (0, 0, 100, 100))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-note-in-a-text-chunk")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret-xmp-packet</x:xmpmeta>")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encoded(image, "PNG", pnginfo=info, icc_profile=icc, exif=gps_exif().tobytes())


def bomb() -> bytes:
    """A ~50 KB PNG that stands for 400 million pixels."""
    return encoded(Image.new("1", (20000, 20000)), "PNG")


def animated_png() -> bytes:
    """Two frames: red, then blue."""
    frames = [Image.new("RGB", (200, 200), RED), Image.new("RGB", (200, 200), BLUE)]
    return encoded(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)


def noise_jpeg(target: int) -> bytes:
    """A valid JPEG of random pixels, within 2 % under `target` bytes."""
    side = int((target / 3.2) ** 0.5)
    for _ in range(40):
        data = encoded(Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)), "JPEG", quality=100)
        if 0.98 * target <= len(data) <= target:
            return data
        side = int(side * (target / len(data)) ** 0.5 * (0.995 if len(data) > target else 1.0))
    raise AssertionError(f"no JPEG near {target} bytes")


def multipart(fields: dict[str, str], files: dict[str, tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """(body, Content-Type) of a multipart/form-data form; files: name → (filename, type, data)."""
    boundary = "----fync" + secrets.token_hex(8)
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, media_type, data) in files.items():
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {media_type}\r\n\r\n").encode()
        parts.append(head + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
