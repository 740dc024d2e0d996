from fair_seg_al.model.segmenter import SegmentationModule

__all__ = ["SegmentationModule"]
