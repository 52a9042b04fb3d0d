#!/bin/sh
# A stand-in ffmpeg for tests/test_faults_disk.py where no small filesystem can be mounted: it fails as
# ffmpeg does on a full disk.
echo "av_interleaved_write_frame(): No space left on device" >&2
exit 1
