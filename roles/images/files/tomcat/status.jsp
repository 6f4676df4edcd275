<%@ page contentType="text/plain; charset=UTF-8" import="java.net.*,java.util.*" %><%
// The endpoints Tomcat was configured with (JAVA_OPTS from setenv.sh), and whether each accepts a TCP connection
// from inside Tomcat. One line per property: NAME HOST:PORT[,HOST:PORT...] reachable|unreachable (reachable when
// every address in it is). setenv.sh names the properties and the port each means where it leaves the port out
// (NETLAB_PROPERTY_PORTS, "name=port name=port ..."); without it, the seed's three.
String listed = System.getenv("NETLAB_PROPERTY_PORTS");
if (listed == null || listed.trim().isEmpty()) {
    listed = "es.node.hosts=9200 db.encompass.hosts=27017 db.audit.hosts=27018";
}
out.println("es.cluster.name " + System.getProperty("es.cluster.name", ""));
for (String pair : listed.trim().split("\\s+")) {
    String name = pair.substring(0, pair.lastIndexOf('='));
    String ownPort = pair.substring(pair.lastIndexOf('=') + 1);
    String value = System.getProperty(name, "");
    if (value.isEmpty()) { out.println(name + " (unset) unreachable"); continue; }
    List<String> shown = new ArrayList<>();
    boolean all = true;
    for (String target : value.split(",")) {
        String host = target.contains(":") ? target.substring(0, target.lastIndexOf(':')) : target;
        int port = Integer.parseInt(target.contains(":") ? target.substring(target.lastIndexOf(':') + 1) : ownPort);
        boolean ok;
        try (Socket s = new Socket()) { s.connect(new InetSocketAddress(host, port), 2000); ok = true; }
        catch (Exception ex) { ok = false; }
        all = all && ok;
        shown.add(host + ":" + port);
    }
    out.println(name + " " + String.join(",", shown) + " " + (all ? "reachable" : "unreachable"));
}
%>
