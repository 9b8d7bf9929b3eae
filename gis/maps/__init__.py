"""Data for live maps: problems aggregated or as points by zoom for the wall, the ticker, complaint
heat, sites for map layers and the class breaks of choropleths. Drawing lives in ``layers/``; this
package decides what is drawn.
"""
