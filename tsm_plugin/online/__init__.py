"""Online TSM: stream a uni-directional TSM recognizer frame by frame."""
from .streaming import StreamingRecognizer

__all__ = ['StreamingRecognizer']
