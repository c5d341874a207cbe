"""The submission package a department sends Sở Nội vụ, and the province's yearly calendar."""
