"""Run-config texts over the shared Jing'an sample, shared by the batch and district tests."""

#: The shared GCJ-02 elder-care table as a run config's ``facilities`` entry (``{data}`` filled in).
ELDERCARE_FACILITIES = """  - source: file
    file: {data}/facilities/eldercare_shanghai_gcj02.csv
    coords: gcj02
    x: lng
    y: lat
    name_col: name
    type_col: type
"""

#: A district of 黄浦区 and 静安区 on the Jing'an/Huangpu network, elder care only.
DISTRICT = (
    """district: 测试区
street_boundaries: {{file: {data}/boundaries/shanghai_districts.geojson}}
streets: [{{name: 黄浦区}}, {{name: 静安区}}]
network: {{source: file, file: {data}/osm/jingan_huangpu_drive.osm}}
categories: [elder_care]
facilities:
"""
    + ELDERCARE_FACILITIES
)
