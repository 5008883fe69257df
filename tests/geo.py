"""Named test coordinates and how their expected values were obtained."""

# Cambridge City Hall, 795 Massachusetts Ave, read off the Cambridge GIS basemap (WGS84 lon/lat).
CAMBRIDGE_CITY_HALL_WGS84 = (-71.1050, 42.3671)
# Same point in EPSG:26986 (NAD83 / Massachusetts Mainland, metres), from PostGIS 3.3:
#   SELECT ST_AsText(ST_Transform('SRID=4326;POINT(-71.105 42.3671)'::geometry, 26986))
# (the value printed, rounded to the centimetre).
CAMBRIDGE_CITY_HALL_26986 = (232_536.15, 901_919.56)

# A point off the coast of West Africa: "null island" neighbour, outside EPSG:26986's area of use.
NULL_ISLAND_WGS84 = (0.0001, 0.0001)

# Boston PWD centerline 'A ST 1' (A St, South Boston) is the first row of Roadway_Centerline.shp;
# its geometry is read from the shapefile itself in the test, in US survey feet (EPSG:2249).
BOSTON_ROAD_PARENT = "A ST 1"
